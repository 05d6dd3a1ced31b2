/* The two clocks the code reads, in milliseconds: monotonic for intervals, deadlines and
 * backoff (never jumps), and Unix wall time for timestamps that others read (logs, usage
 * reports, cache expiry shared through Redis). */
#ifndef VEIL_CORE_CLOCK_H
#define VEIL_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t clock_mono_ms(void);
/* CLOCK_MONOTONIC in nanoseconds: for durations shorter than a millisecond (request timing). */
uint64_t clock_mono_ns(void);
/* CLOCK_REALTIME in milliseconds since 1970-01-01 UTC. */
uint64_t clock_unix_ms(void);
/* The time ms milliseconds from now on clock id, as the absolute deadline pthread_cond_timedwait
 * takes (CLOCK_REALTIME for a default condition variable, CLOCK_MONOTONIC for one set so). */
struct timespec clock_after_ms(clockid_t id, uint64_t ms);

#endif
