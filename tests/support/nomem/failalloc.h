/* Allocation-failure injection for test_*_nomem tests (see failalloc.c). */
#ifndef VEIL_TESTS_FAILALLOC_H
#define VEIL_TESTS_FAILALLOC_H

/* Starts counting allocations; the nth from now (1-based) fails with ENOMEM; 0 = none. */
void failalloc_arm(long nth);
/* Stops counting and failing; blocks stay tracked until freed. */
void failalloc_disarm(void);
/* Test fixtures allocate between pause and resume: neither counted, failed nor tracked. */
void failalloc_pause(void);
void failalloc_resume(void);
/* Whether the armed failure happened since failalloc_arm. */
int failalloc_failed(void);
/* Allocations counted since failalloc_arm. */
long failalloc_count(void);
/* Blocks allocated while armed and not freed yet (-1: too many to track). */
long failalloc_outstanding(void);

/* Runs `scenario` (an expression returning int, 0 on success) failing allocation 1, 2, ...
 * until a run completes without reaching the failure. A failed run may still succeed (the
 * allocation was optional, e.g. a cache) but must then leave nothing behind either; when it
 * fails, `accept(rc)` must hold and nothing it allocated may be left. `label` names the
 * scenario in messages. The sweep runs twice and checks leaks on the second pass only:
 * libraries keep state created on first use for the life of the thread (libcrypto's error
 * queue, caches), which the first pass creates on every failure path. */
#define FAILALLOC_SWEEP(label, accept, scenario)                                                                       \
    do {                                                                                                               \
        for (int pass_ = 0; pass_ < 2; pass_++)                                                                        \
            for (long nth_ = 1;; nth_++) {                                                                             \
                failalloc_arm(nth_);                                                                                   \
                int rc_ = (scenario);                                                                                  \
                failalloc_disarm();                                                                                    \
                if (!failalloc_failed()) {                                                                             \
                    if (rc_ != 0)                                                                                      \
                        fail_msg("%s: clean run returned %d", label, rc_);                                             \
                    if (nth_ < 2)                                                                                      \
                        fail_msg("%s: the scenario made no allocation to fail", label);                                \
                    if (pass_ == 1)                                                                                    \
                        print_message("%s: failed each of %ld allocations in turn\n", label, nth_ - 1);                \
                    break;                                                                                             \
                }                                                                                                      \
                if (rc_ != 0 && !(accept)(rc_))                                                                        \
                    fail_msg("%s: allocation %ld failed, returned %d", label, nth_, rc_);                              \
                if (pass_ == 1 && failalloc_outstanding() != 0)                                                        \
                    fail_msg("%s: allocation %ld failed, %ld blocks leaked", label, nth_, failalloc_outstanding());    \
            }                                                                                                          \
    } while (0)

#endif
