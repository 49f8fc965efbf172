/*
 * Advertisements: the canonical encoding, the round trip, a hash that does
 * not depend on insertion or key order, every refusal of the strict
 * decoder (each naming the field and the rule or limit), and the /targets
 * and /clients groups rendered from it (parsed back with jansson).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "advert.h"
#include "buf.h"
#include "pushprox_limits.h"

static struct advert_limits lim;

static void
setup(void)
{
	advert_limits_default(&lim);
}

static struct advert *
sample(void)
{
	struct advert *a = advert_new("0.1.0");
	struct labels ls;
	char err[256];

	ck_assert_ptr_nonnull(a);
	labels_init(&ls);
	ck_assert_int_eq(labels_set(&ls, "site", "berlin", false, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(advert_set_labels(a, &ls), 0);
	labels_release(&ls);
	ck_assert_int_eq(labels_set(&ls, "team", "infra", false, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(labels_set(&ls, "site", "moon", false, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(advert_add_target(a, "xesite", NULL, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(advert_add_target(a, "node", &ls, err, sizeof(err)),
	    0);
	labels_release(&ls);
	return a;
}

static const char canonical[] =
    "{\"client_version\":\"0.1.0\",\"labels\":{\"site\":\"berlin\"},"
    "\"targets\":[{\"labels\":{\"site\":\"moon\",\"team\":\"infra\"},"
    "\"name\":\"node\"},{\"labels\":{},\"name\":\"xesite\"}],"
    "\"version\":1}";

static void
decode_fails(const char *body, int want_status, const char *want)
{
	char err[512] = "";
	int status = 0;
	struct advert *a = advert_decode(body, strlen(body), &lim, &status,
	    err, sizeof(err));

	ck_assert_msg(a == NULL, "accepted: %s", body);
	ck_assert_int_eq(status, want_status);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
}

START_TEST(test_names_tags)
{
	char longname[LIMIT_MAX_TARGET_NAME_BYTES + 2], want[64];
	const char *why;

	ck_assert(advert_name_ok("node", &why));
	ck_assert(advert_name_ok("my-exporter_2.v1", &why));
	ck_assert(advert_name_ok(".x", &why));
	ck_assert(!advert_name_ok("", &why));
	ck_assert(!advert_name_ok(".", &why));
	ck_assert(!advert_name_ok("..", &why));
	ck_assert_ptr_nonnull(strstr(why, "only dots"));
	ck_assert(!advert_name_ok("a/b", &why));
	ck_assert(!advert_name_ok("a b", &why));
	ck_assert(!advert_name_ok("a%2f", &why));
	ck_assert_ptr_nonnull(strstr(why, "[A-Za-z0-9_.-]+"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(!advert_name_ok(longname, &why));
	/* The figure comes from the constant (a literal, so LIMIT_STR). */
	snprintf(want, sizeof(want), "target name longer than %d bytes",
	    LIMIT_MAX_TARGET_NAME_BYTES);
	ck_assert_str_eq(why, want);
	longname[sizeof(longname) - 2] = '\0';
	ck_assert(advert_name_ok(longname, &why));
	ck_assert(advert_tag_ok("1f3a9c0d2b7e4f60"));
	ck_assert(!advert_tag_ok(""));
	ck_assert(!advert_tag_ok("ab cd"));
	ck_assert(!advert_tag_ok(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(test_encode_canonical)
{
	struct advert *a = sample();
	size_t len;
	char *s = advert_encode(a, &len);

	ck_assert_str_eq(s, canonical);
	ck_assert_uint_eq(len, strlen(canonical));
	ck_assert_uint_eq(advert_label_bytes(a), 4 + 6 + 4 + 4 + 4 + 5);
	ck_assert_ptr_nonnull(advert_find(a, "node"));
	ck_assert_str_eq(labels_get(&advert_find(a, "node")->labels, "team"),
	    "infra");
	ck_assert_ptr_null(advert_find(a, "nope"));
	free(s);
	advert_free(a);
	advert_free(NULL);
}
END_TEST

START_TEST(test_round_trip_hash)
{
	/* the same advertisement, keys and targets in another order */
	static const char shuffled[] =
	    "{\"version\":1,\"targets\":[{\"name\":\"xesite\"},"
	    "{\"labels\":{\"team\":\"infra\",\"site\":\"moon\"},"
	    "\"name\":\"node\"}],\"labels\":{\"site\":\"berlin\"},"
	    "\"client_version\":\"0.1.0\"}";
	struct advert *a = sample(), *b;
	char ha[LABELS_HASH_HEX + 1], hb[LABELS_HASH_HEX + 1], err[256];
	int status;
	size_t len;
	char *s;

	b = advert_decode(shuffled, strlen(shuffled), &lim, &status, err,
	    sizeof(err));
	ck_assert_msg(b != NULL, "%s", err);
	s = advert_encode(b, &len);
	ck_assert_str_eq(s, canonical);
	free(s);
	ck_assert_int_eq(advert_hash(a, ha), 0);
	ck_assert_int_eq(advert_hash(b, hb), 0);
	ck_assert_str_eq(ha, hb);
	ck_assert(advert_tag_ok(ha));
	/* any change changes the hash */
	ck_assert_int_eq(advert_add_target(b, "more", NULL, err, sizeof(err)),
	    0);
	ck_assert_int_eq(advert_hash(b, hb), 0);
	ck_assert_str_ne(ha, hb);
	advert_free(a);
	advert_free(b);
}
END_TEST

START_TEST(test_minimal_and_empty)
{
	static const char body[] = "{\"version\":1,\"targets\":[]}";
	char err[256];
	int status;
	struct advert *a = advert_decode(body, strlen(body), &lim, &status,
	    err, sizeof(err));

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_str_eq(a->client_version, "");
	ck_assert_uint_eq(a->ntargets, 0);
	ck_assert_uint_eq(a->labels.n, 0);
	advert_free(a);
}
END_TEST

START_TEST(test_decode_errors)
{
	decode_fails("", 400, "body: invalid JSON");
	decode_fails("{\"version\":1,", 400, "invalid JSON at line 1");
	decode_fails("[]", 400, "body: must be a JSON object");
	decode_fails("{\"version\":1,\"targets\":[],\"fqdn\":\"x\"}", 400,
	    "body: unknown key \"fqdn\"");
	decode_fails("{\"version\":1,\"version\":1,\"targets\":[]}", 400,
	    "duplicate");
	decode_fails("{\"targets\":[]}", 400, "version: required");
	decode_fails("{\"version\":2,\"targets\":[]}", 400, "must be 1");
	decode_fails("{\"version\":\"1\",\"targets\":[]}", 400, "version");
	decode_fails("{\"version\":1}", 400, "targets: required");
	decode_fails("{\"version\":1,\"targets\":{}}", 400,
	    "targets: required");
	decode_fails("{\"version\":1,\"targets\":[],\"client_version\":1}",
	    400, "client_version: must be a string");
	decode_fails("{\"version\":1,\"targets\":[],\"client_version\":"
	    "\"a b\"}", 400, "client_version");
	decode_fails("{\"version\":1,\"targets\":[],\"client_version\":"
	    "\"0123456789012345678901234567890123456789012345678901234567"
	    "890123456789\"}", 400, "at most 64 bytes");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":[]}", 400,
	    "labels: must be an object");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":{\"a\":1}}",
	    400, "labels.a: label values must be strings");
	decode_fails("{\"version\":1,\"targets\":[],"
	    "\"labels\":{\"a-b\":\"1\"}}",
	    400, "labels: label \"a-b\": label names must match");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":"
	    "{\"__address__\":\"x:1\"}}", 400, "reserved");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":"
	    "{\"instance\":\"x\"}}", 400, "instance label is reserved");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":"
	    "{\"a\":\"x\\u0000y\"}}", 400, "invalid JSON");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":"
	    "{\"a\":\"\\ud800\"}}", 400, "invalid JSON");
	decode_fails("{\"version\":1,\"targets\":[],\"labels\":"
	    "{\"a\":\"\xc0\xaf\"}}", 400, "invalid JSON");
	decode_fails("{\"version\":1,\"targets\":[1]}", 400,
	    "targets[0]: must be an object");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\",\"url\":"
	    "\"http://x/\"}]}", 400, "targets[0]: unknown key \"url\"");
	decode_fails("{\"version\":1,\"targets\":[{\"labels\":{}}]}", 400,
	    "targets[0].name: required");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":7}]}", 400,
	    "targets[0].name: must be a string");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\"},"
	    "{\"name\":\"b/c\"}]}", 400, "targets[1].name: target \"b/c\": "
	    "target names must match");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\"},"
	    "{\"name\":\"a\"}]}", 400, "targets[1].name: target a: duplicate");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\",\"labels\":"
	    "{\"__param_x\":\"1\"}}]}", 400, "targets[0].labels: label "
	    "\"__param_x\"");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\",\"labels\":"
	    "\"x\"}]}", 400, "targets[0].labels: must be an object");
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\",\"labels\":"
	    "{\"\\u0001\":\"x\"}}]}", 400, "label names must match");
}
END_TEST

START_TEST(test_caps)
{
	static const char three[] = "{\"version\":1,\"targets\":["
	    "{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}";
	struct buf b;
	char err[512];
	int status, i;
	struct advert *a;

	/* body size: 413 */
	lim.max_bytes = 20;
	decode_fails("{\"version\":1,\"targets\":[]}", 413,
	    "body: 26 bytes, more than the 20 allowed by "
	    "--advertise.max-bytes");
	lim.max_bytes = LIMIT_MAX_ADVERT_BYTES;

	/* target count: at the cap accepted, over it refused */
	lim.max_targets = 3;
	decode_fails("{\"version\":1,\"targets\":[{\"name\":\"a\"},{\"name\":"
	    "\"b\"},{\"name\":\"c\"},{\"name\":\"d\"}]}", 400, "targets: 4 "
	    "targets, more than the 3 allowed by --advertise.max-targets");
	a = advert_decode(three, strlen(three), &lim, &status, err,
	    sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(advert_check(a, &lim, err, sizeof(err)), 0);
	ck_assert_int_eq(advert_add_target(a, "d", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(advert_check(a, &lim, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--advertise.max-targets"));
	advert_free(a);

	/* label bytes, counted over the client and every target */
	lim.max_targets = LIMIT_MAX_TARGETS_PER_CLIENT;
	lim.max_label_bytes = 10;
	decode_fails("{\"version\":1,\"labels\":{\"ab\":\"cd\"},\"targets\":"
	    "[{\"name\":\"t\",\"labels\":{\"ef\":\"ghi\"},\"name\":\"t\"}]}",
	    400, "duplicate");
	decode_fails("{\"version\":1,\"labels\":{\"ab\":\"cd\"},\"targets\":"
	    "[{\"name\":\"t\",\"labels\":{\"efg\":\"hijk\"}}]}", 400,
	    "labels: 11 bytes of label names and values, more than the 10 "
	    "allowed by --advertise.max-label-bytes");
	lim.max_label_bytes = LIMIT_MAX_LABEL_BYTES_PER_CLIENT;

	/* labels in one set */
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "{\"version\":1,\"targets\":[],"
	    "\"labels\":{"), 0);
	for (i = 0; i <= LIMIT_MAX_LABELS; i++)
		ck_assert_int_eq(buf_printf(&b, "%s\"l%d\":\"v\"",
		    i > 0 ? "," : "", i), 0);
	ck_assert_int_eq(buf_puts(&b, "}}"), 0);
	decode_fails(buf_cstr(&b), 400, "more than 64 labels");
	buf_release(&b);
}
END_TEST

START_TEST(test_label_bytes_exact)
{
	/* 10 bytes exactly is within a cap of 10 */
	static const char body[] = "{\"version\":1,\"labels\":{\"ab\":"
	    "\"cd\"},\"targets\":[{\"name\":\"t\",\"labels\":{\"efg\":"
	    "\"hij\"}}]}";
	char err[256];
	int status;
	struct advert *a;

	lim.max_label_bytes = 10;
	a = advert_decode(body, strlen(body), &lim, &status, err,
	    sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_uint_eq(advert_label_bytes(a), 10);
	advert_free(a);
}
END_TEST

static json_t *
render(const struct advert *a, bool targets)
{
	struct advert_live live = { "node1.example", "192.0.2.7:51234", 12,
	    false };
	struct buf b;
	bool first = true;
	json_error_t jerr;
	json_t *j;

	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_puts(&b, "["), 0);
	if (targets)
		ck_assert_int_eq(advert_render_targets(&b, a, &live, &first),
		    0);
	else
		ck_assert_int_eq(advert_render_client(&b, a, &live, &first),
		    0);
	live.fqdn = "node2.example";
	live.poll_open = true;
	live.address = NULL;
	if (targets)
		ck_assert_int_eq(advert_render_targets(&b, a, &live, &first),
		    0);
	else
		ck_assert_int_eq(advert_render_client(&b, NULL, &live, &first),
		    0);
	ck_assert_int_eq(buf_puts(&b, "]"), 0);
	j = json_loads(buf_cstr(&b), JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(j != NULL, "%s: %s", jerr.text, buf_cstr(&b));
	buf_release(&b);
	return j;
}

static const char *
label(json_t *groups, size_t i, const char *name)
{
	return json_string_value(json_object_get(json_object_get(
	    json_array_get(groups, i), "labels"), name));
}

START_TEST(test_render_targets)
{
	struct advert *a = sample();
	char err[256];
	struct labels ls;
	json_t *j;

	labels_init(&ls);
	ck_assert_int_eq(labels_set(&ls, "q", "say \"hi\"\\\n", false, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(advert_add_target(a, "z.q", &ls, err, sizeof(err)),
	    0);
	labels_release(&ls);
	j = render(a, true);
	ck_assert_uint_eq(json_array_size(j), 6);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_array_get(j, 0), "targets"), 0)), "node1.example:0");
	ck_assert_str_eq(label(j, 0, "__metrics_path__"),
	    "/pushprox/targets/node/metrics");
	ck_assert_str_eq(label(j, 0, "instance"), "node1.example/node");
	ck_assert_str_eq(label(j, 0, "site"), "moon");	/* target wins */
	ck_assert_str_eq(label(j, 0, "team"), "infra");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_fqdn"), "node1.example");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_target"), "node");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_client_version"),
	    "0.1.0");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_client_address"),
	    "192.0.2.7:51234");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_last_seen_seconds"),
	    "12");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_poll_open"), "false");
	ck_assert_str_eq(label(j, 1, "instance"), "node1.example/xesite");
	ck_assert_str_eq(label(j, 1, "site"), "berlin");
	ck_assert_ptr_null(label(j, 1, "team"));
	ck_assert_str_eq(label(j, 2, "q"), "say \"hi\"\\\n");
	ck_assert_str_eq(label(j, 3, "instance"), "node2.example/node");
	ck_assert_str_eq(label(j, 3, "__meta_pushprox_poll_open"), "true");
	ck_assert_str_eq(label(j, 3, "__meta_pushprox_last_seen_seconds"), "0");
	ck_assert_ptr_null(label(j, 3, "__meta_pushprox_client_address"));
	json_decref(j);
	advert_free(a);
}
END_TEST

START_TEST(test_render_clients)
{
	struct advert *a = sample();
	json_t *j = render(a, false);

	ck_assert_uint_eq(json_array_size(j), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_array_get(j, 0), "targets"), 0)), "node1.example");
	ck_assert_str_eq(label(j, 0, "site"), "berlin");
	ck_assert_str_eq(label(j, 0, "__meta_pushprox_client_version"),
	    "0.1.0");
	ck_assert_ptr_null(label(j, 0, "team"));
	ck_assert_ptr_null(label(j, 0, "instance"));
	/* a Go client: liveness only */
	ck_assert_str_eq(label(j, 1, "__meta_pushprox_fqdn"), "node2.example");
	ck_assert_ptr_null(label(j, 1, "__meta_pushprox_client_version"));
	ck_assert_uint_eq(json_object_size(json_object_get(json_array_get(j,
	    1), "labels")), 3);
	json_decref(j);
	advert_free(a);
}
END_TEST

START_TEST(test_render_cap)
{
	struct advert *a = sample();
	struct advert_live live = { "node1.example", NULL, 0, true };
	struct buf b;
	bool first = true;

	buf_init(&b, 100);
	ck_assert_int_eq(advert_render_targets(&b, a, &live, &first), -1);
	buf_release(&b);
	advert_free(a);
}
END_TEST

Suite *
advert_suite(void)
{
	Suite *s = suite_create("advert");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_names_tags);
	tcase_add_test(tc, test_encode_canonical);
	tcase_add_test(tc, test_round_trip_hash);
	tcase_add_test(tc, test_minimal_and_empty);
	tcase_add_test(tc, test_decode_errors);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_label_bytes_exact);
	tcase_add_test(tc, test_render_targets);
	tcase_add_test(tc, test_render_clients);
	tcase_add_test(tc, test_render_cap);
	suite_add_tcase(s, tc);
	return s;
}
