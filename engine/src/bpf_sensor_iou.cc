// BpfSensor's reader of the io_uring side's counter (bpf/io_uring.bpf.h),
// which lives in a .bss array of its own rather than in vg_cpu_counters.
#include <bpf/libbpf.h>

#include "vigil/engine/bpf_sensor.h"
#include "vigil_event.h"  // before the skeleton, which uses its structs
#include "detect_prefilter.h"
#include "vigil.skel.h"

namespace vigil::engine {

uint64_t BpfSensor::ReadIoUringUndecoded() const {
  if (skel_ == nullptr || skel_->bss == nullptr) return 0;
  uint64_t total = 0;
  for (uint64_t n : skel_->bss->vg_iou_undecoded) total += n;
  return total;
}

}  // namespace vigil::engine
