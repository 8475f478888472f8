# Kernel side: x.bpf.c -> x.bpf.o (clang -target bpf, CO-RE against vmlinux.h)
# -> x.skel.h (bpftool gen skeleton). vmlinux.h is generated at build time from
# the build machine's BTF: CO-RE relocations make the object portable to other
# kernels, and generating it keeps a 3 MB machine-written header out of git.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
set(VIGIL_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF used to generate vmlinux.h")

set(VIGIL_BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf-gen)
file(MAKE_DIRECTORY ${VIGIL_BPF_GEN_DIR})

if(NOT EXISTS ${VIGIL_VMLINUX_BTF})
  message(FATAL_ERROR "${VIGIL_VMLINUX_BTF} is missing: vigil needs a kernel built with "
                      "CONFIG_DEBUG_INFO_BTF=y (or pass -DVIGIL_VMLINUX_BTF=<file>)")
endif()

# vigil_bpf_vmlinux(): the rule that generates vmlinux.h; call it once, in
# the directory whose targets use it (custom-command outputs are per directory).
# It is a target of its own that every skeleton depends on: were it only an
# output each skeleton's rule names, a parallel build would run it once per
# skeleton, and one clang could read the header while another run rewrites it.
# Written to a temporary name and renamed, so no reader sees half a header.
function(vigil_bpf_vmlinux)
  add_custom_command(
    OUTPUT ${VIGIL_BPF_GEN_DIR}/vmlinux.h
    COMMAND sh -c "${BPFTOOL} btf dump file ${VIGIL_VMLINUX_BTF} format c > vmlinux.h.tmp && mv vmlinux.h.tmp vmlinux.h"
    WORKING_DIRECTORY ${VIGIL_BPF_GEN_DIR}
    COMMENT "Generating vmlinux.h from ${VIGIL_VMLINUX_BTF}"
    VERBATIM)
  add_custom_target(bpf_vmlinux DEPENDS ${VIGIL_BPF_GEN_DIR}/vmlinux.h)
endfunction()

# vigil_bpf_skeleton(<name> <source.bpf.c> DEPENDS <headers...>)
# Produces ${VIGIL_BPF_GEN_DIR}/<name>.skel.h (struct <name>_bpf) and a target bpf_<name>_skel.
function(vigil_bpf_skeleton name src)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  set(obj ${VIGIL_BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${VIGIL_BPF_GEN_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror=implicit-function-declaration -Wno-unused-function
            -I${VIGIL_BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/bpf -c ${src} -o ${obj}
    DEPENDS ${src} ${ARG_DEPENDS} ${VIGIL_BPF_GEN_DIR}/vmlinux.h
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(bpf_${name}_skel DEPENDS ${skel})
  add_dependencies(bpf_${name}_skel bpf_vmlinux)
endfunction()
