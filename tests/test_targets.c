/*
 * The client's targets file (client/targets.c, client/targetsfile.c) and
 * its directory watcher (client/targetwatch.c), on files written to a
 * temporary directory: the schema, every refusal naming file, line and
 * key, socket directories with real Unix sockets, include directories,
 * atomic reloads and rescans, change detection, the matching of plain and
 * named scrapes, and the advertisement built from a set.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/event.h>

#include "advert.h"
#include "pushprox_limits.h"
#include "targets.h"
#include "targetwatch.h"

static char dir[] = "/tmp/pushprox-targets-XXXXXX";
static struct targets_limits lim;

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	targets_limits_default(&lim);
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static const char *
at(const char *name)
{
	static char path[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

static void
mkdir_at(const char *name)
{
	ck_assert_int_eq(mkdir(at(name), 0700), 0);
}

static const char *
write_at(const char *name, const char *text)
{
	const char *path = at(name);
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* A bound Unix socket at name (the descriptor is left open). */
static void
sock_at(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", at(name));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

static struct targets *
load_ok(const char *text)
{
	struct targets *set = NULL;
	char err[1024] = "";

	ck_assert_msg(targets_load(write_at("targets.yml", text), &lim, &set,
	    err, sizeof(err)) == 0, "unexpected error: %s", err);
	return set;
}

static void
load_fails(const char *text, const char *want1, const char *want2)
{
	struct targets *set = NULL;
	char err[1024] = "";

	ck_assert_msg(targets_load(write_at("targets.yml", text), &lim, &set,
	    err, sizeof(err)) == -1, "accepted: %s", text);
	ck_assert_ptr_null(set);
	ck_assert_msg(strstr(err, want1) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want1);
	ck_assert_msg(strstr(err, want2) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want2);
}

START_TEST(test_full)
{
	struct targets *set;
	const struct target *t;
	char yml[2048];

	mkdir_at("run");
	mkdir_at("inc");
	sock_at("run/xe.sock");
	sock_at("run/printer-facts.sock");
	sock_at("run/bad name.sock"); /* not a name: skipped */
	write_at("run/fake.sock", "not a socket\n");	/* skipped */
	write_at("inc/plugin-abc.yml", "name: abc\n"
	    "url: http://127.0.0.1:2112/metrics\nlabels: {job: plugin_abc}\n");
	write_at("inc/more.json", "[{\"name\": \"p1\", \"url\": "
	    "\"http://127.0.0.1:3000/m\"},\n {\"name\": \"p2\", \"url\": "
	    "\"http://127.0.0.1:3001/m\"}]\n");
	write_at("inc/.hidden.yml", "nonsense: [\n");
	write_at("inc/notes.txt", "nonsense: [\n");
	snprintf(yml, sizeof(yml),
	    "labels: {site: berlin}\n"
	    "targets:\n"
	    "  - name: node\n"
	    "    url: http://localhost:9100/metrics\n"
	    "    labels: {team: infra}\n"
	    "  - name: xesite\n"
	    "    url: http://localhost/metrics?x=1\n"
	    "    unix_socket: run/xesite.sock\n"
	    "  - name: secure\n"
	    "    url: https://10.0.0.5:9443/metrics\n"
	    "    tls:\n"
	    "      ca_file: ca.crt\n"
	    "      cert_file: /etc/c.crt\n"
	    "      key_file: /etc/c.key\n"
	    "      server_name: exporter.internal\n"
	    "      insecure_skip_verify: false\n"
	    "socket_dirs:\n"
	    "  - dir: run\n"
	    "    path: /metrics\n"
	    "    labels: {via: aegis}\n"
	    "include:\n"
	    "  - %s/inc\n", dir);
	set = load_ok(yml);
	ck_assert_uint_eq(set->n, 8);
	ck_assert_str_eq(set->v[0].name, "abc");	/* sorted */
	ck_assert_str_eq(set->v[7].name, "xesite");
	ck_assert_str_eq(labels_get(&set->labels, "site"), "berlin");

	t = targets_find_by_name(set, "node");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->origin, TARGETS_STATIC);
	ck_assert_str_eq(labels_get(&t->labels, "team"), "infra");
	ck_assert_uint_eq(t->u.port, 9100);
	ck_assert_ptr_null(t->unix_socket);

	t = targets_find_by_name(set, "xesite");
	ck_assert_str_eq(t->unix_socket, at("run/xesite.sock"));
	ck_assert_str_eq(t->u.path_query, "/metrics?x=1");

	t = targets_find_by_name(set, "secure");
	ck_assert(t->has_tls);
	ck_assert_str_eq(t->tls.ca_file, at("ca.crt"));	/* relative */
	ck_assert_str_eq(t->tls.cert_file, "/etc/c.crt");
	ck_assert_str_eq(t->tls.server_name, "exporter.internal");
	ck_assert(!t->tls.insecure_skip_verify);

	t = targets_find_by_name(set, "printer-facts");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->origin, TARGETS_SOCKET);
	ck_assert_str_eq(t->unix_socket, at("run/printer-facts.sock"));
	ck_assert_str_eq(t->url, "http://localhost/metrics");
	ck_assert_str_eq(labels_get(&t->labels, "via"), "aegis");
	ck_assert_ptr_nonnull(targets_find_by_name(set, "xe"));
	ck_assert_ptr_null(targets_find_by_name(set, "fake"));
	ck_assert_ptr_null(targets_find_by_name(set, "bad name"));

	t = targets_find_by_name(set, "abc");
	ck_assert_int_eq(t->origin, TARGETS_INCLUDE);
	ck_assert_str_eq(labels_get(&t->labels, "job"), "plugin_abc");
	ck_assert_ptr_nonnull(strstr(t->source, "plugin-abc.yml:1"));
	ck_assert_ptr_nonnull(targets_find_by_name(set, "p1"));
	ck_assert_ptr_nonnull(targets_find_by_name(set, "p2"));
	ck_assert_ptr_null(targets_find_by_name(set, "nope"));
	targets_free(set);
	targets_free(NULL);
}
END_TEST

/* The fixtures in tests/data/targets: JSON with tabs, YAML, relative dirs. */
START_TEST(test_fixture)
{
	struct targets *set = NULL;
	const char *data = getenv("TEST_DATA_DIR");
	char path[512], err[1024];

	ck_assert_ptr_nonnull(data);
	snprintf(path, sizeof(path), "%s/targets/include.yml", data);
	ck_assert_msg(targets_load(path, &lim, &set, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(set->n, 2);
	ck_assert_str_eq(set->v[0].name, "node");
	ck_assert_str_eq(set->v[1].name, "plugin-abc");
	ck_assert_str_eq(labels_get(&set->v[1].labels, "job"), "plugin_abc");
	targets_free(set);
}
END_TEST

START_TEST(test_empty_and_nulls)
{
	struct targets *set = load_ok("");
	size_t n;

	ck_assert_uint_eq(set->n, 0);
	ck_assert_ptr_null(targets_find_by_name(set, "x"));
	targets_free(set);
	set = load_ok("labels:\ntargets:\nsocket_dirs: ~\ninclude: null\n");
	ck_assert_uint_eq(set->n, 0);
	ck_assert_ptr_null(targets_dir(set, 0, &n));
	ck_assert_uint_eq(n, 0);
	targets_free(set);
}
END_TEST

START_TEST(test_errors)
{
	load_fails("bogus: 1\n", "targets.yml: line 1: bogus: unknown key",
	    "known: labels, targets, socket_dirs, include");
	load_fails("- 1\n", "line 1: the file: must be a mapping", "labels");
	load_fails("targets: [\n", "line 2: invalid YAML", "targets.yml");
	load_fails("labels: {a: 1}\nlabels: {b: 2}\n",
	    "line 2: labels: duplicate key", "targets.yml");
	load_fails("targets:\n  - name: a\n    url: http://x/\n    port: 1\n",
	    "line 4: port: unknown key in target", "known: name, url");
	load_fails("targets:\n  - name: a\n    url: http://x/\n    name: b\n",
	    "line 4: name: duplicate key", "targets.yml");
	load_fails("targets:\n  - name: a\n    url: http://x/\n"
	    "  - name: a\n    url: http://y/\n", "duplicate target name \"a\"",
	    "targets.yml:4");
	load_fails("targets:\n  - name: a/b\n    url: http://x/\n",
	    "line 2: name: \"a/b\": target names must match", "targets.yml");
	load_fails("targets:\n  - name: ..\n    url: http://x/\n",
	    "line 2: name", "only dots");
	load_fails("targets:\n  - url: http://x/\n", "line 2: name: required",
	    "targets.yml");
	load_fails("targets:\n  - name: a\n", "line 2: url: required",
	    "target a");
	load_fails("targets:\n  - name: a\n    url: ftp://x/\n",
	    "line 3: url: \"ftp://x/\": scheme must be http or https",
	    "targets.yml");
	load_fails("targets:\n  - name: a\n    url: http://localhost:0/m\n",
	    "line 3: url: \"http://localhost:0/m\": port 0 is the "
	    "named-target route", "targets.yml");
	load_fails("targets:\n  - name: a\n    url: /metrics\n",
	    "line 3: url", "not an absolute http(s) URL");
	load_fails("targets:\n  - name: a\n    url: http://x/\n    tls: {}\n",
	    "line 4: tls: only for https URLs", "target a");
	load_fails("targets:\n  - name: a\n    url: https://x/\n"
	    "    tls: {cert_file: c}\n", "line 4: tls: cert_file and key_file "
	    "go together", "targets.yml");
	load_fails("targets:\n  - name: a\n    url: https://x/\n"
	    "    tls: {insecure_skip_verify: yes}\n",
	    "insecure_skip_verify: must be true or false", "line 4");
	load_fails("targets:\n  - name: a\n    url: https://x/\n"
	    "    tls: {ca: x}\n", "line 4: ca: unknown key in tls",
	    "ca_file");
	load_fails("labels: {__scheme__: https}\n", "line 1: labels",
	    "reserved");
	load_fails("labels: {a-b: x}\n", "line 1: labels: label \"a-b\"",
	    "must match");
	load_fails("labels: [a]\n", "line 1: labels: must be a mapping",
	    "targets.yml");
	load_fails("labels: {a: [1]}\n", "line 1: a: label values must be text",
	    "targets.yml");
	load_fails("targets: {name: a}\n", "line 1: targets: must be a list",
	    "targets.yml");
	load_fails("socket_dirs:\n  - path: /m\n", "line 2: dir: required",
	    "targets.yml");
	load_fails("socket_dirs:\n  - dir: /nonexistent-dir-xyz\n",
	    "/nonexistent-dir-xyz: cannot read directory", "No such file");
	load_fails("socket_dirs:\n  - {dir: /tmp, path: metrics}\n",
	    "line 2: path: must start with /", "targets.yml");
	load_fails("socket_dirs:\n  - {dir: /tmp, labels: {x: 1}, y: 2}\n",
	    "line 2: y: unknown key in socket_dirs", "dir, path, labels");
	load_fails("include: /tmp\n", "line 1: include: must be a list",
	    "targets.yml");
	load_fails("include: [/nonexistent-dir-xyz]\n",
	    "/nonexistent-dir-xyz: cannot read directory", "No such file");
}
END_TEST

START_TEST(test_missing_file)
{
	struct targets *set = NULL;
	char err[512];

	ck_assert_int_eq(targets_load(at("none.yml"), &lim, &set, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "none.yml: cannot open: No such "
	    "file"));
	ck_assert_ptr_null(set);
}
END_TEST

START_TEST(test_bad_include_file)
{
	mkdir_at("inc");
	write_at("inc/a.yml", "name: a\nurl: http://x/\nextra: 1\n");
	load_fails("include: [inc]\n", "inc/a.yml: line 3: extra: unknown key",
	    "target");
	write_at("inc/a.yml", "- name: a\n  url: http://x/\n- 7\n");
	load_fails("include: [inc]\n", "inc/a.yml: line 3: target: must be a "
	    "mapping", "name, url");
	write_at("inc/a.yml", "\"just text\"\n");
	load_fails("include: [inc]\n", "inc/a.yml: line 1: targets: must be a "
	    "list", "targets");
	write_at("inc/a.yml", "name: a\nurl: http://x/\n");
	write_at("inc/b.json", "{\"name\": \"a\", \"url\": \"http://y/\"}\n");
	load_fails("include: [inc]\n", "duplicate target name \"a\"",
	    "b.json:1");
}
END_TEST

START_TEST(test_reload_keeps_old)
{
	struct targets *set = NULL, *old;
	char err[512];

	set = load_ok("targets: [{name: a, url: 'http://x/'}]\n");
	old = set;
	write_at("targets.yml", "targets: [{name: a, url: 'gopher://x/'}]\n");
	ck_assert_int_eq(targets_load(at("targets.yml"), &lim, &set, err,
	    sizeof(err)), -1);
	ck_assert_ptr_eq(set, old);
	ck_assert_str_eq(set->v[0].url, "http://x/");
	write_at("targets.yml", "targets: [{name: b, url: 'http://y/'}]\n");
	ck_assert_int_eq(targets_load(at("targets.yml"), &lim, &set, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(set->v[0].name, "b");
	targets_free(set);
}
END_TEST

START_TEST(test_rescan_changes)
{
	struct targets *set;
	char err[512], yml[512];
	size_t n;

	mkdir_at("run");
	mkdir_at("inc");
	snprintf(yml, sizeof(yml), "socket_dirs: [{dir: run}]\n"
	    "include: [inc]\ntargets: [{name: s, url: 'http://x/'}]\n");
	set = load_ok(yml);
	ck_assert_uint_eq(set->n, 1);
	ck_assert_str_eq(targets_dir(set, 0, &n), at("run"));
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(targets_dir(set, 1, &n), at("inc"));
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 0);

	sock_at("run/svc.sock");			/* a service starts */
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 1);
	ck_assert_uint_eq(set->n, 2);
	ck_assert_str_eq(targets_find_by_name(set, "svc")->url,
	    "http://localhost/metrics");		/* the default path */
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 0);

	write_at("inc/p.yml", "name: p\nurl: http://127.0.0.1:1/\n");
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 1);
	ck_assert_uint_eq(set->n, 3);

	/* a label change is a change */
	write_at("inc/p.yml", "name: p\nurl: http://127.0.0.1:1/\n"
	    "labels: {v: '2'}\n");
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 1);
	ck_assert_str_eq(labels_get(&targets_find_by_name(set, "p")->labels,
	    "v"), "2");

	/* a bad file keeps the old set, and says where */
	write_at("inc/q.yml", "name: q\nurl: nope\n");
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "q.yml: line 2: url"));
	ck_assert_uint_eq(set->n, 3);
	ck_assert_ptr_nonnull(targets_find_by_name(set, "p"));

	/* a name clash between a socket and a file keeps it too */
	write_at("inc/q.yml", "name: svc\nurl: http://127.0.0.1:2/\n");
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "duplicate target name \"svc\""));

	/* removing the files removes their targets */
	ck_assert_int_eq(unlink(at("inc/q.yml")), 0);
	ck_assert_int_eq(unlink(at("inc/p.yml")), 0);
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 1);
	ck_assert_uint_eq(set->n, 2);
	ck_assert_int_eq(unlink(at("run/svc.sock")), 0);
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), 1);
	ck_assert_uint_eq(set->n, 1);

	/* a vanished directory is an error; the set stays */
	ck_assert_int_eq(rmdir(at("run")), 0);
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot read directory"));
	ck_assert_uint_eq(set->n, 1);
	targets_free(set);
}
END_TEST

START_TEST(test_caps)
{
	struct targets *set;
	char err[512];

	lim.max_targets = 2;
	load_fails("targets: [{name: a, url: 'http://x/'}, {name: b, url: "
	    "'http://x/'}, {name: c, url: 'http://x/'}]\n",
	    "line 1: targets: more than 2 targets", "targets.yml");
	mkdir_at("inc");
	write_at("inc/a.yml", "[{name: a, url: 'http://x/'}, {name: b, url: "
	    "'http://x/'}]\n");
	set = load_ok("include: [inc]\n");
	write_at("inc/b.yml", "{name: c, url: 'http://x/'}\n");
	ck_assert_int_eq(targets_rescan(set, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 2 targets"));
	targets_free(set);
	lim.max_targets = 10;
	lim.max_label_bytes = 8;
	load_fails("labels: {ab: cd}\ntargets: [{name: a, url: 'http://x/', "
	    "labels: {efg: hi}}]\n", "9 bytes of label names and values",
	    "more than the 8 allowed");
}
END_TEST

START_TEST(test_match)
{
	struct targets *set;
	char name[LIMIT_MAX_TARGET_NAME_BYTES + 1];
	const struct target *t;

	set = load_ok("targets:\n"
	    "  - {name: node, url: 'http://localhost:9100/metrics'}\n"
	    "  - {name: other, url: 'http://10.1.2.3:9100/metrics'}\n"
	    "  - {name: tls, url: 'https://127.0.0.1:9443/m?a=1'}\n"
	    "  - {name: own, url: 'http://node1.example:8080/x'}\n"
	    "  - {name: sock, url: 'http://localhost:9999/s', "
	    "unix_socket: /run/s.sock}\n");
	t = targets_find_by_url(set, "node1.example",
	    "http://node1.example:9100/metrics");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "node");
	ck_assert_str_eq(targets_find_by_url(set, "node1.example",
	    "http://NODE1.example:9100/metrics")->name, "node");
	ck_assert_str_eq(targets_find_by_url(set, "node1.example",
	    "https://node1.example:9443/m?a=1")->name, "tls");
	ck_assert_str_eq(targets_find_by_url(set, "node1.example",
	    "http://node1.example:8080/x")->name, "own");
	ck_assert_str_eq(targets_find_by_url(set, "node1.example",
	    "http://10.1.2.3:9100/metrics")->name, "other");
	/* differing port, path, query, scheme: no */
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "http://node1.example:9101/metrics"));
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "http://node1.example:9100/metrics2"));
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "http://node1.example:9100/metrics?x=1"));
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "http://node1.example:9443/m?a=1"));
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "http://node2.example:9100/metrics"));	/* another FQDN */
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "http://node1.example:9999/s"));		/* sockets: by name */
	ck_assert_ptr_null(targets_find_by_url(set, "node1.example",
	    "not a url"));

	ck_assert(targets_path_name("/pushprox/targets/node/metrics", name,
	    sizeof(name)));
	ck_assert_str_eq(name, "node");
	ck_assert(targets_path_name("/pushprox/targets/a.b-c_d/metrics", name,
	    sizeof(name)));
	ck_assert_str_eq(name, "a.b-c_d");
	ck_assert(!targets_path_name("/pushprox/targets//metrics", name,
	    sizeof(name)));
	ck_assert(!targets_path_name("/pushprox/targets/a/b/metrics", name,
	    sizeof(name)));
	ck_assert(!targets_path_name("/pushprox/targets/../metrics", name,
	    sizeof(name)));
	ck_assert(!targets_path_name("/pushprox/targets/node/metrics?x=1",
	    name, sizeof(name)));
	ck_assert(!targets_path_name("/metrics", name, sizeof(name)));
	ck_assert(!targets_path_name("/pushprox/targets/node", name,
	    sizeof(name)));
	targets_free(set);
}
END_TEST

/* The names a 404 lists, and a job's own copy of its target. */
START_TEST(test_names_and_copy)
{
	struct targets *set;
	struct target t;
	char out[64], small[16];

	targets_list_names(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "none");
	set = load_ok("targets:\n"
	    "  - {name: zeta, url: 'http://localhost:9100/metrics'}\n"
	    "  - name: alpha\n"
	    "    url: 'https://localhost:9443/m?a=1'\n"
	    "    labels: {team: infra}\n"
	    "    tls: {ca_file: /ca.pem, server_name: svc.example}\n"
	    "  - {name: mid, url: 'http://localhost/s', "
	    "unix_socket: /run/s.sock}\n");
	targets_list_names(set, out, sizeof(out));
	ck_assert_str_eq(out, "alpha, mid, zeta");
	targets_list_names(set, small, sizeof(small));
	ck_assert_str_eq(small, "alpha, mid, ...");
	targets_list_names(set, small, 8);
	ck_assert_str_eq(small, "...");
	targets_list_names(set, small, 1);
	ck_assert_str_eq(small, "");

	ck_assert_int_eq(targets_target_copy(&t,
	    targets_find_by_name(set, "alpha")), 0);
	targets_free(set);		/* a reload frees the set */
	ck_assert_str_eq(t.name, "alpha");
	ck_assert_str_eq(t.url, "https://localhost:9443/m?a=1");
	ck_assert_str_eq(t.u.path_query, "/m?a=1");
	ck_assert_uint_eq(t.u.port, 9443);
	ck_assert(t.has_tls);
	ck_assert_str_eq(t.tls.ca_file, "/ca.pem");
	ck_assert_str_eq(t.tls.server_name, "svc.example");
	ck_assert_str_eq(labels_get(&t.labels, "team"), "infra");
	targets_target_release(&t);
	ck_assert_ptr_null(t.name);
	targets_target_release(&t);
}
END_TEST

START_TEST(test_advert)
{
	struct targets *set;
	struct labels flags;
	struct advert *a;
	char err[512];

	labels_init(&flags);
	ck_assert_int_eq(labels_parse_flag(&flags, "site=hamburg", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(labels_parse_flag(&flags, "env=prod", err,
	    sizeof(err)), 0);
	set = load_ok("labels: {site: berlin}\ntargets:\n"
	    "  - {name: node, url: 'http://localhost:9100/m', "
	    "labels: {team: infra}}\n"
	    "  - {name: app, url: 'http://localhost:8080/m'}\n");
	a = targets_advert(set, &flags, "0.1.0", err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_str_eq(labels_get(&a->labels, "site"), "berlin");
	ck_assert_str_eq(labels_get(&a->labels, "env"), "prod");
	ck_assert_uint_eq(a->ntargets, 2);
	ck_assert_str_eq(a->targets[0].name, "app");
	ck_assert_str_eq(labels_get(&advert_find(a, "node")->labels, "team"),
	    "infra");
	ck_assert_str_eq(a->client_version, "0.1.0");
	advert_free(a);
	/* no targets file: --label only */
	a = targets_advert(NULL, &flags, "0.1.0", err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->ntargets, 0);
	ck_assert_str_eq(labels_get(&a->labels, "site"), "hamburg");
	advert_free(a);
	labels_release(&flags);
	targets_free(set);
}
END_TEST

static void
watch_cb(void *arg)
{
	struct event_base *base = arg;

	event_base_loopbreak(base);
}

static int
watch_fires(struct event_base *base, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	return event_base_dispatch(base) == 0 && event_base_got_break(base);
}

START_TEST(test_watch)
{
	struct event_base *base = event_base_new();
	struct targetwatch *tw;
	struct targets *set;
	char yml[256];

	mkdir_at("inc");
	snprintf(yml, sizeof(yml), "include: [inc]\n");
	set = load_ok(yml);
	ck_assert_ptr_nonnull(base);
	tw = targetwatch_new(base, 0, watch_cb, base);
	ck_assert_ptr_nonnull(tw);
	ck_assert_int_eq(targetwatch_set(tw, set), 1);
	ck_assert(!watch_fires(base, 300));		/* quiet: no call */
	write_at("inc/p.yml", "name: p\nurl: http://127.0.0.1:1/\n");
	ck_assert(watch_fires(base, 2000));		/* ~100 ms later */
	ck_assert_int_eq(unlink(at("inc/p.yml")), 0);
	ck_assert(watch_fires(base, 2000));
	ck_assert_int_eq(targetwatch_set(tw, NULL), 0);	/* unwatched */
	write_at("inc/q.yml", "name: q\nurl: http://127.0.0.1:1/\n");
	ck_assert(!watch_fires(base, 300));
	targetwatch_free(tw);

	/* the periodic rescan, without any event */
	tw = targetwatch_new(base, 50, watch_cb, base);
	ck_assert(watch_fires(base, 2000));
	targetwatch_free(tw);
	targetwatch_free(NULL);
	targets_free(set);
	event_base_free(base);
}
END_TEST

Suite *
targets_suite(void)
{
	Suite *s = suite_create("targets");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_fixture);
	tcase_add_test(tc, test_empty_and_nulls);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_bad_include_file);
	tcase_add_test(tc, test_reload_keeps_old);
	tcase_add_test(tc, test_rescan_changes);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_advert);
	tcase_add_test(tc, test_names_and_copy);
	tcase_add_test(tc, test_watch);
	suite_add_tcase(s, tc);
	return s;
}
