/*
 * The main() shared by every unit-test executable: runs the one suite the
 * build names in TEST_SUITE_FN, with CK_NORMAL output so the
 * "Checks: N, Failures: 0" summary line is printed.  Every test fails on
 * a warning or error it did not declare (testlog.h).
 */
#include <check.h>
#include <stdlib.h>

#include "testlog.h"

Suite *TEST_SUITE_FN(void);

int
main(void)
{
	SRunner *sr = srunner_create(TEST_SUITE_FN());
	int failed;

	testlog_install();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
