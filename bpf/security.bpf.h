/* Security events (files, network, privileges) built on the shared record
 * helpers of vigil.bpf.c, which includes this file after them. */
#ifndef VIGIL_BPF_SECURITY_BPF_H
#define VIGIL_BPF_SECURITY_BPF_H

#endif /* VIGIL_BPF_SECURITY_BPF_H */
