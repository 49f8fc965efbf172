/*
 * The exporter-toolkit web config parser: what it accepts, and that every
 * rejection names the file, the line, the key and the problem.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "webconfig.h"

#define HASH "$2y$10$Zk2q3E8Lq4Zz0b7a8b9c0uJ1e2f3g4h5i6j7k8l9m0n1o2p3q4r5s"

static char dir[] = "/tmp/pushprox-webconfig-XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static char *
write_file(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/web.yml", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static struct webconfig *
load_ok(const char *text)
{
	char err[512] = "";
	struct webconfig *wc = webconfig_load(write_file(text), err,
	    sizeof(err));

	ck_assert_msg(wc != NULL, "unexpected error: %s", err);
	return wc;
}

static void
load_fails(const char *text, const char *want1, const char *want2)
{
	char err[512] = "";
	struct webconfig *wc = webconfig_load(write_file(text), err,
	    sizeof(err));

	ck_assert_msg(wc == NULL, "accepted: %s", text);
	ck_assert_msg(strstr(err, want1) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want1);
	ck_assert_msg(strstr(err, want2) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want2);
	ck_assert_msg(strstr(err, "web.yml") != NULL, "no file in \"%s\"",
	    err);
}

START_TEST(test_full)
{
	struct webconfig *wc = load_ok(
	    "tls_server_config:\n"
	    "  cert_file: certs/server.crt\n"
	    "  key_file: /abs/server.key\n"
	    "  client_ca_file: ca.crt\n"
	    "  client_auth_type: RequireAndVerifyClientCert\n"
	    "  min_version: TLS13\n"
	    "basic_auth_users:\n"
	    "  alice: " HASH "\n"
	    "  bob: " HASH "\n");
	char want[300];

	ck_assert(wc->tls);
	snprintf(want, sizeof(want), "%s/certs/server.crt", dir);
	ck_assert_str_eq(wc->cert_file, want);
	ck_assert_str_eq(wc->key_file, "/abs/server.key");
	ck_assert_int_eq(wc->client_auth,
	    WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT);
	ck_assert_int_eq(wc->min_version, TLS1_3_VERSION);
	ck_assert_uint_eq(wc->nusers, 2);
	ck_assert_str_eq(webconfig_user_hash(wc, "bob"), HASH);
	ck_assert_ptr_null(webconfig_user_hash(wc, "carol"));
	webconfig_free(wc);
}
END_TEST

START_TEST(test_defaults_and_empty)
{
	struct webconfig *wc = load_ok("");

	ck_assert(!wc->tls);
	ck_assert_uint_eq(wc->nusers, 0);
	webconfig_free(wc);
	wc = load_ok("tls_server_config:\n  cert_file: a\n  key_file: b\n");
	ck_assert_int_eq(wc->min_version, TLS1_2_VERSION);
	ck_assert_int_eq(wc->client_auth, WEBCONFIG_NO_CLIENT_CERT);
	webconfig_free(wc);
	wc = load_ok("basic_auth_users:\n");
	ck_assert_uint_eq(wc->nusers, 0);
	webconfig_free(wc);
}
END_TEST

START_TEST(test_rejections)
{
	load_fails("tls_server_config:\n  cert_file: a\n  key_file: b\n"
	    "  client_auth_type: Sometimes\n", "line 4", "client_auth_type");
	load_fails("tls_server_config:\n  cert_file: a\n", "line 2",
	    "key_file are both required");
	load_fails("tls_server_confg:\n  cert_file: a\n", "line 1",
	    "tls_server_confg: unknown");
	load_fails("tls_server_config:\n  cert_file: a\n  key_file: b\n"
	    "  cipher_suites: [x]\n", "line 4", "cipher_suites");
	load_fails("tls_server_config:\n  cert_file: a\n  key_file: b\n"
	    "  min_version: TLS9\n", "min_version", "TLS9");
	load_fails("tls_server_config:\n  cert_file: a\n  key_file: b\n"
	    "  client_auth_type: VerifyClientCertIfGiven\n",
	    "client_ca_file", "required");
	load_fails("basic_auth_users:\n  alice: plaintext\n", "line 2",
	    "alice: not a bcrypt hash");
	load_fails("basic_auth_users:\n  alice: " HASH "\n  alice: " HASH
	    "\n", "line 3", "duplicate");
	load_fails("basic_auth_users: [a, b]\n", "basic_auth_users",
	    "mapping");
	load_fails("a: [\n", "invalid YAML", "line");
	load_fails("basic_auth_users:\n  a: " HASH "\nbasic_auth_users:\n"
	    "  b: " HASH "\n", "line 3", "basic_auth_users: duplicate key");
	load_fails("tls_server_config:\n  cert_file: a\n  key_file: b\n"
	    "  cert_file: c\n", "line 4", "cert_file: duplicate key");
	load_fails("- just\n- a list\n", "line 1", "mapping");
}
END_TEST

START_TEST(test_missing_file)
{
	char err[512];

	ck_assert_ptr_null(webconfig_load("/nonexistent/web.yml", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/web.yml"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	webconfig_free(NULL);
}
END_TEST

Suite *
webconfig_suite(void)
{
	Suite *s = suite_create("webconfig");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_defaults_and_empty);
	tcase_add_test(tc, test_rejections);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}
