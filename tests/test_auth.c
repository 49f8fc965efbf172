/*
 * The proxy's authentication rules that need no connection: FQDN
 * patterns, basic credentials against real bcrypt hashes, tokens files.
 */
#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "webconfig.h"

START_TEST(test_name_match)
{
	ck_assert(auth_name_match("node1.example.com", "NODE1.example.com"));
	ck_assert(auth_name_match("*.example.com", "node1.example.com"));
	ck_assert(!auth_name_match("*.example.com", "a.b.example.com"));
	ck_assert(!auth_name_match("*.example.com", "example.com"));
	ck_assert(!auth_name_match("*.example.com", ".example.com"));
	ck_assert(auth_name_match("node-*.dc1", "node-17.dc1"));
	ck_assert(!auth_name_match("node1", "node10"));
	ck_assert(!auth_name_match("node10", "node1"));
	ck_assert(auth_name_match("*", "localhost"));
	ck_assert(!auth_name_match("*", "a.b"));
}
END_TEST

/* "Basic " + base64(user:pass) for the cases below. */
static const char *
basic(const char *userpass)
{
	static char out[256];
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, n = strlen(userpass), o = 6;
	const unsigned char *p = (const unsigned char *)userpass;

	memcpy(out, "Basic ", 6);
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 |
		    (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

START_TEST(test_basic)
{
	struct webconfig wc = { 0 };
	struct webconfig_user users[1];
	struct auth *a = auth_new(AUTH_CLIENT_NONE);
	char salt[64], err[256], hash[512];
	const char *why;
	struct crypt_data *cd = calloc(1, sizeof(*cd));

	ck_assert_ptr_nonnull(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt,
	    sizeof(salt)));
	ck_assert_ptr_nonnull(cd);
	ck_assert_ptr_nonnull(crypt_rn(" s3cret:x", salt, cd, (int)sizeof(*cd)));
	snprintf(hash, sizeof(hash), "%s", cd->output);
	free(cd);
	users[0].name = "prom";
	users[0].hash = hash;
	wc.users = users;
	wc.nusers = 1;
	ck_assert(!auth_has_users(a));
	ck_assert_int_eq(auth_load(a, &wc, NULL, err, sizeof(err)), 0);
	ck_assert(auth_has_users(a));
	ck_assert_int_eq(auth_basic(a, basic("prom: s3cret:x"), &why), 0);
	/* The cached path must give the same answer. */
	ck_assert_int_eq(auth_basic(a, basic("prom: s3cret:x"), &why), 0);
	ck_assert_int_eq(auth_basic(a, basic("prom: s3cret:y"), &why), -1);
	ck_assert_str_eq(why, "wrong password");
	ck_assert_int_eq(auth_basic(a, basic("eve: s3cret:x"), &why), -1);
	ck_assert_str_eq(why, "unknown user");
	ck_assert_int_eq(auth_basic(a, NULL, &why), -1);
	ck_assert_str_eq(why, "no credentials");
	ck_assert_int_eq(auth_basic(a, "Bearer xyz", &why), -1);
	ck_assert_int_eq(auth_basic(a, "Basic !!!!", &why), -1);
	ck_assert_int_eq(auth_basic(a, "Basic cHJvbQ==", &why), -1);
	/* A reload without users opens scraping again. */
	ck_assert_int_eq(auth_load(a, NULL, NULL, err, sizeof(err)), 0);
	ck_assert(!auth_has_users(a));
	auth_free(a);
	auth_free(NULL);
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
	struct auth *a = auth_new(AUTH_CLIENT_TOKEN);
	char err[512];
	char *path;

	ck_assert_int_eq(auth_load(a, NULL, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--client.tokens-file"));
	path = tokens_file("# comment\n\n"
	    "82e7d18c4db27068bac4213bcdb831b0859b2f4c8c719d848aee0215e57ca353 "
	    "localhost *.example.com  # trailing\n");
	ck_assert_int_eq(auth_load(a, NULL, path, err, sizeof(err)), 0);
	unlink(path);
	path = tokens_file("deadbeef node1\n");
	ck_assert_int_eq(auth_load(a, NULL, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	ck_assert_ptr_nonnull(strstr(err, "SHA-256"));
	unlink(path);
	path = tokens_file("\n"
	    "82e7d18c4db27068bac4213bcdb831b0859b2f4c8c719d848aee0215e57ca353\n");
	ck_assert_int_eq(auth_load(a, NULL, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	ck_assert_ptr_nonnull(strstr(err, "at least one FQDN"));
	unlink(path);
	ck_assert_int_eq(auth_load(a, NULL, "/nonexistent/tokens", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/tokens"));
	auth_free(a);
}
END_TEST

Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, test_name_match);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_tokens_file);
	suite_add_tcase(s, tc);
	return s;
}
