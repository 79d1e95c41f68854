#ifndef IRSA_CSYSTEMD_SHIM_H
#define IRSA_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#endif
