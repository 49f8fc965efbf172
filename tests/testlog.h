/*
 * Every unit test fails on a warning or error it did not expect (as
 * libinput's litest does): testmain installs a log hook that fails the
 * running Check test on the first unexpected event at warn level or above,
 * naming it.  A test that provokes one on purpose declares it first.
 */
#ifndef PUSHPROX_TESTLOG_H
#define PUSHPROX_TESTLOG_H

#include "log.h"

/*
 * Allows, for the rest of the current test, any number of events at this
 * level whose formatted line contains substring (e.g. the msg, or
 * "reason=..."); NULL allows every event at that level.  Expectations end
 * with the test (each test runs in its own process: CK_FORK, the default).
 */
void test_expect_log(enum log_level level, const char *substring);

/* Installs the hook; testmain calls it before running the suite. */
void testlog_install(void);

#endif
