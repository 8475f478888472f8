/* Container lifecycle, from the cgroup v2 hierarchy: a container runtime
 * makes one cgroup per container, named after its 64-hex id
 * ("docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "libpod-<id>.scope", or "<id>" with the cgroupfs driver), before it starts
 * the container's first process, and removes it once the container ended.
 *
 * (The name test is the container scope's, vg_container_cgroup_name in
 * bpf/scope.h.) The cgroup_mkdir program records such cgroups, and cgroups made below
 * them, in vg_new_containers (bpf/scope.h: container=new) and emits
 * container_create; cgroup_rmdir forgets them and emits container_remove.
 * Included by vigil.bpf.c after the record helpers. */
#ifndef VIGIL_BPF_CONTAINERS_BPF_H
#define VIGIL_BPF_CONTAINERS_BPF_H

/* Whether `cgrp` is in the cgroup v2 hierarchy, whose ids the records'
 * cgroup_id carry (v1 hierarchies of hybrid systems have their own). */
static __always_inline bool vg_cgroup_is_v2(struct cgroup *cgrp) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  return BPF_CORE_READ(cgrp, root) == BPF_CORE_READ(task, cgroups, dfl_cgrp, root);
}

/* container_create / container_remove: the creating (removing) process's
 * header, with the container's cgroup as cgroupId; every policy that selects
 * the event gets it, and user space matches their container scopes against
 * the container the event is about (engine/src/container_events.cc). */
static __always_inline void vg_emit_container_event(__u32 event_id, __u8 cgroup_id_arg, __u8 path_arg,
                                                    __u64 cgroup_id, const char *path) {
  __u64 policies = vg_event_policies[event_id & (VG_MAX_EVENTS - 1)];
  if (!policies) return;
  struct vg_rec r = rec_begin(event_id, -1, policies);
  if (!r.buf) return;
  REC_HDR(&r)->cgroup_id = cgroup_id;
  put_u64(&r, cgroup_id_arg, cgroup_id);
  put_str(&r, path_arg, path, VG_MAX_STR, false);
  rec_submit(&r);
}

static __always_inline void vg_on_cgroup_mkdir(struct cgroup *cgrp, const char *path) {
  if (!vg_cgroup_is_v2(cgrp)) return;
  __u64 id = BPF_CORE_READ(cgrp, kn, id);
  __u64 parent = BPF_CORE_READ(cgrp, self.parent, cgroup, kn, id);
  bool container = vg_container_cgroup_name(BPF_CORE_READ(cgrp, kn, name));
  /* A cgroup made inside a new container (systemd in it, a pod's
   * containers under its pod) belongs to it. */
  if (container || bpf_map_lookup_elem(&vg_new_containers, &parent)) {
    __u64 now = bpf_ktime_get_boot_ns();
    bpf_map_update_elem(&vg_new_containers, &id, &now, BPF_ANY);
  }
  if (container && EVENT_SELECTED(VG_ID_CONTAINER_CREATE))
    vg_emit_container_event(VG_ID_CONTAINER_CREATE, VG_ARG_CONTAINER_CREATE_CGROUP_ID,
                            VG_ARG_CONTAINER_CREATE_CGROUP_PATH, id, path);
}

static __always_inline void vg_on_cgroup_rmdir(struct cgroup *cgrp, const char *path) {
  if (!vg_cgroup_is_v2(cgrp)) return;
  __u64 id = BPF_CORE_READ(cgrp, kn, id);
  bpf_map_delete_elem(&vg_new_containers, &id);
  if (EVENT_SELECTED(VG_ID_CONTAINER_REMOVE) && vg_container_cgroup_name(BPF_CORE_READ(cgrp, kn, name)))
    vg_emit_container_event(VG_ID_CONTAINER_REMOVE, VG_ARG_CONTAINER_REMOVE_CGROUP_ID,
                            VG_ARG_CONTAINER_REMOVE_CGROUP_PATH, id, path);
}

VG_BTF_AND_RAW(cg_, cgroup_mkdir, vg_on_cgroup_mkdir(cgrp, path), struct cgroup *cgrp, const char *path)
VG_BTF_AND_RAW(cg_, cgroup_rmdir, vg_on_cgroup_rmdir(cgrp, path), struct cgroup *cgrp, const char *path)

#endif /* VIGIL_BPF_CONTAINERS_BPF_H */
