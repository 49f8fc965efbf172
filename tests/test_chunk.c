/*
 * Unit tests for the chunked framing of a streamed push (client/chunk.c):
 * a chunk per call sized to the room left, nothing when the room cannot
 * hold a chunk, the last chunk once, and a plain copy with framing off.
 */
#include <check.h>
#include <string.h>

#include "chunk.h"

START_TEST(test_chunk_frames)
{
	struct chunk	 ch = { .on = true };
	char		 out[64];
	size_t		 n, taken;

	n = chunk_put(&ch, out, sizeof(out), "hello", 5, &taken);
	ck_assert_uint_eq(taken, 5);
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(out, "5\r\nhello\r\n", 10) == 0);
	/* Room for 4 data bytes only: a chunk of 4. */
	n = chunk_put(&ch, out, CHUNK_OVERHEAD + 4, "abcdefgh", 8, &taken);
	ck_assert_uint_eq(taken, 4);
	ck_assert(memcmp(out, "4\r\nabcd\r\n", n) == 0);
	/* Sizes in hex. */
	{
		char	 big[40], src[26];

		memset(src, 'x', sizeof(src));
		n = chunk_put(&ch, big, sizeof(big), src, sizeof(src),
		    &taken);
		ck_assert_uint_eq(taken, sizeof(big) - CHUNK_OVERHEAD);
		ck_assert(memcmp(big, "14\r\n", 4) == 0);
	}
}
END_TEST

START_TEST(test_chunk_no_room)
{
	struct chunk	 ch = { .on = true };
	char		 out[CHUNK_OVERHEAD];
	size_t		 taken = 99;

	ck_assert_uint_eq(chunk_put(&ch, out, sizeof(out), "x", 1, &taken), 0);
	ck_assert_uint_eq(taken, 0);
	ck_assert_uint_eq(chunk_put(&ch, out, sizeof(out), "", 0, &taken), 0);
}
END_TEST

START_TEST(test_chunk_end_once)
{
	struct chunk	 ch = { .on = true };
	char		 out[8];

	ck_assert_uint_eq(chunk_end(&ch, out, 4), 0);	/* no room yet */
	ck_assert(!ch.ended);
	ck_assert_uint_eq(chunk_end(&ch, out, sizeof(out)), 5);
	ck_assert(memcmp(out, "0\r\n\r\n", 5) == 0);
	ck_assert(ch.ended);
	ck_assert_uint_eq(chunk_end(&ch, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_chunk_off_copies)
{
	struct chunk	 ch = { .on = false };
	char		 out[4];
	size_t		 n, taken;

	n = chunk_put(&ch, out, sizeof(out), "abcdef", 6, &taken);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(taken, 4);
	ck_assert(memcmp(out, "abcd", 4) == 0);
	ck_assert_uint_eq(chunk_end(&ch, out, sizeof(out)), 0);
}
END_TEST

Suite *
chunk_suite(void)
{
	Suite	*s = suite_create("chunk");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_chunk_frames);
	tcase_add_test(tc, test_chunk_no_room);
	tcase_add_test(tc, test_chunk_end_once);
	tcase_add_test(tc, test_chunk_off_copies);
	suite_add_tcase(s, tc);
	return s;
}
