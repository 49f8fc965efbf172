/*
 * Client identity rules that need no connection: FQDN patterns ("*" for
 * one DNS label) and tokens files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientauth.h"

START_TEST(test_name_match)
{
	ck_assert(clientauth_name_match("node1.example.com",
	    "NODE1.example.com"));
	ck_assert(clientauth_name_match("*.example.com", "node1.example.com"));
	ck_assert(!clientauth_name_match("*.example.com", "a.b.example.com"));
	ck_assert(!clientauth_name_match("*.example.com", "example.com"));
	ck_assert(!clientauth_name_match("*.example.com", ".example.com"));
	ck_assert(clientauth_name_match("node-*.dc1", "node-17.dc1"));
	ck_assert(!clientauth_name_match("node1", "node10"));
	ck_assert(!clientauth_name_match("node10", "node1"));
	ck_assert(clientauth_name_match("*", "localhost"));
	ck_assert(!clientauth_name_match("*", "a.b"));
}
END_TEST

static char *
tokens_file(const char *text)
{
	static char path[] = "/tmp/pushprox-tokens-XXXXXX";
	int fd;

	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_tokens_file)
{
	struct clientauth *a = clientauth_new(CLIENTAUTH_TOKEN);
	char err[512];
	char *path;

	ck_assert_int_eq(clientauth_load(a, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--client.tokens-file"));
	path = tokens_file("# comment\n\n"
	    "82e7d18c4db27068bac4213bcdb831b0859b2f4c8c719d848aee0215e57ca353 "
	    "localhost *.example.com  # trailing\n");
	ck_assert_int_eq(clientauth_load(a, path, err, sizeof(err)), 0);
	unlink(path);
	path = tokens_file("deadbeef node1\n");
	ck_assert_int_eq(clientauth_load(a, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	ck_assert_ptr_nonnull(strstr(err, "SHA-256"));
	unlink(path);
	path = tokens_file("\n"
	    "82e7d18c4db27068bac4213bcdb831b0"
	    "859b2f4c8c719d848aee0215e57ca353\n");
	ck_assert_int_eq(clientauth_load(a, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	ck_assert_ptr_nonnull(strstr(err, "at least one FQDN"));
	unlink(path);
	ck_assert_int_eq(clientauth_load(a, "/nonexistent/tokens", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/tokens"));
	clientauth_free(a);
}
END_TEST

/* Modes other than token need no file; clientauth_free(NULL) is a no-op. */
START_TEST(test_modes)
{
	struct clientauth *a = clientauth_new(CLIENTAUTH_CERT);
	char err[64];

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(clientauth_load(a, NULL, err, sizeof(err)), 0);
	clientauth_free(a);
	clientauth_free(NULL);
	ck_assert_str_eq(clientauth_mode_names[CLIENTAUTH_NONE], "none");
	ck_assert_str_eq(clientauth_mode_names[CLIENTAUTH_CERT], "cert");
	ck_assert_str_eq(clientauth_mode_names[CLIENTAUTH_TOKEN], "token");
	ck_assert_ptr_null(clientauth_mode_names[3]);
}
END_TEST

Suite *
clientauth_suite(void)
{
	Suite *s = suite_create("clientauth");
	TCase *tc = tcase_create("clientauth");

	tcase_add_test(tc, test_name_match);
	tcase_add_test(tc, test_tokens_file);
	tcase_add_test(tc, test_modes);
	suite_add_tcase(s, tc);
	return s;
}
