/*
 * The main() shared by every unit-test executable: runs the one suite the
 * build names in TEST_SUITE_FN, with CK_NORMAL output so the
 * "Checks: N, Failures: 0" summary line is printed.
 */
#include <check.h>
#include <stdlib.h>

Suite *TEST_SUITE_FN(void);

int
main(void)
{
	SRunner *sr = srunner_create(TEST_SUITE_FN());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
