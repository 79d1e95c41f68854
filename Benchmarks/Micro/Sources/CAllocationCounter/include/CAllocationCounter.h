#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Starts counting the calling thread's allocations (malloc, calloc, realloc, aligned
/// allocations) from zero.
void CAllocationCounter_start(void);

/// Stops counting and returns the allocations counted since `CAllocationCounter_start`.
uint64_t CAllocationCounter_stop(void);

#endif
