/*
 * Web configuration parsing.  libyaml's document API gives a node tree;
 * we walk it against the toolkit's schema and report the first problem
 * with its line.  Only what pushprox implements is accepted: a key we do
 * not implement is an error rather than silently weaker security.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <yaml.h>

#include "log.h"
#include "pushprox_limits.h"
#include "webconfig.h"
#include "xmalloc.h"


struct webconfig_parse {
	yaml_document_t	*doc;
	const char	*path;
	char		*dir;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static const char *const webconfig_auth_names[] = {
	"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
	"VerifyClientCertIfGiven", "RequireAndVerifyClientCert", NULL,
};

static int
webconfig_fail(struct webconfig_parse *p, const yaml_node_t *n,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
webconfig_fail(struct webconfig_parse *p, const yaml_node_t *n,
    const char *key, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s: line %lu: %s%s%s", p->path,
	    n != NULL ? (unsigned long)n->start_mark.line + 1 : 0UL,
	    key != NULL ? key : "", key != NULL ? ": " : "", why);
	p->failed = 1;
	return -1;
}

static const char *
webconfig_scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

/* A file path, resolved against the config file's folder. */
static int
webconfig_path(struct webconfig_parse *p, const yaml_node_t *n,
    const char *key, char **out)
{
	const char *v = webconfig_scalar(n);
	size_t len;

	if (v == NULL || *v == '\0')
		return webconfig_fail(p, n, key, "must be a file path");
	free(*out);
	if (*v == '/') {
		*out = xstrdup(v, "a web config file path");
	} else {
		len = strlen(p->dir) + 1 + strlen(v) + 1;
		*out = xmalloc(len, "a web config file path");
		snprintf(*out, len, "%s/%s", p->dir, v);
	}
	return 0;
}

static int
webconfig_version(struct webconfig_parse *p, const yaml_node_t *n,
    const char *key, int *out)
{
	static const struct { const char *name; int v; } versions[] = {
		{ "TLS10", TLS1_VERSION }, { "TLS11", TLS1_1_VERSION },
		{ "TLS12", TLS1_2_VERSION }, { "TLS13", TLS1_3_VERSION },
	};
	const char *v = webconfig_scalar(n);
	size_t i;

	for (i = 0; v != NULL && i < sizeof(versions) / sizeof(versions[0]);
	    i++)
		if (strcmp(v, versions[i].name) == 0) {
			*out = versions[i].v;
			return 0;
		}
	return webconfig_fail(p, n, key, "\"%s\" is not one of TLS10, TLS11, "
	    "TLS12, TLS13", v != NULL ? v : "");
}

static int	webconfig_unique_keys(struct webconfig_parse *,
		    const yaml_node_t *);

static int
webconfig_tls(struct webconfig_parse *p, const yaml_node_t *map,
    struct webconfig *wc)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *k, *v;
	const char *key, *s;
	size_t i;

	if (map->type != YAML_MAPPING_NODE)
		return webconfig_fail(p, map, "tls_server_config",
		    "must be a mapping");
	wc->tls = true;
	if (webconfig_unique_keys(p, map) == -1)
		return -1;
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		if ((key = webconfig_scalar(k)) == NULL)
			return webconfig_fail(p, k, NULL, "keys must be text");
		if (strcmp(key, "cert_file") == 0) {
			if (webconfig_path(p, v, key, &wc->cert_file) == -1)
				return -1;
		} else if (strcmp(key, "key_file") == 0) {
			if (webconfig_path(p, v, key, &wc->key_file) == -1)
				return -1;
		} else if (strcmp(key, "client_ca_file") == 0) {
			if (webconfig_path(p, v, key, &wc->client_ca_file) == -1)
				return -1;
		} else if (strcmp(key, "client_auth_type") == 0) {
			s = webconfig_scalar(v);
			for (i = 0; webconfig_auth_names[i] != NULL; i++)
				if (s != NULL &&
				    strcmp(s, webconfig_auth_names[i]) == 0)
					break;
			if (webconfig_auth_names[i] == NULL)
				return webconfig_fail(p, v, key, "\"%s\" is not "
				    "one of NoClientCert, RequestClientCert, "
				    "RequireAnyClientCert, "
				    "VerifyClientCertIfGiven, "
				    "RequireAndVerifyClientCert",
				    s != NULL ? s : "");
			wc->client_auth = (enum webconfig_client_auth)i;
		} else if (strcmp(key, "min_version") == 0) {
			if (webconfig_version(p, v, key, &wc->min_version) == -1)
				return -1;
		} else if (strcmp(key, "max_version") == 0) {
			if (webconfig_version(p, v, key, &wc->max_version) == -1)
				return -1;
		} else
			return webconfig_fail(p, k, key, "unknown or "
			    "unsupported key in tls_server_config");
	}
	if (wc->cert_file == NULL || wc->key_file == NULL)
		return webconfig_fail(p, map, "tls_server_config",
		    "cert_file and key_file are both required");
	if (wc->client_auth >= WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN &&
	    wc->client_ca_file == NULL)
		return webconfig_fail(p, map, "client_ca_file", "required "
		    "when client_auth_type verifies client certificates");
	if (wc->max_version != 0 && wc->max_version < wc->min_version)
		return webconfig_fail(p, map, "max_version",
		    "lower than min_version");
	return 0;
}

static int
webconfig_users(struct webconfig_parse *p, const yaml_node_t *map,
    struct webconfig *wc)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *k, *v;
	const char *user, *hash;
	size_t n;

	if (map->type != YAML_MAPPING_NODE)
		return webconfig_fail(p, map, "basic_auth_users",
		    "must be a mapping of user: bcrypt hash");
	n = (size_t)(map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start);
	if (n > LIMIT_WEBCONFIG_USERS)
		return webconfig_fail(p, map, "basic_auth_users",
		    "more than %d users", LIMIT_WEBCONFIG_USERS);
	if (n == 0)
		return 0;
	wc->users = xcalloc(n, sizeof(*wc->users), "basic_auth_users");
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		user = webconfig_scalar(k);
		hash = webconfig_scalar(v);
		if (user == NULL || *user == '\0' || strchr(user, ':') != NULL)
			return webconfig_fail(p, k, "basic_auth_users",
			    "user names must be non-empty text without ':'");
		if (webconfig_user_hash(wc, user) != NULL)
			return webconfig_fail(p, k, user, "duplicate user");
		if (hash == NULL || (strncmp(hash, "$2a$", 4) != 0 &&
		    strncmp(hash, "$2b$", 4) != 0 &&
		    strncmp(hash, "$2y$", 4) != 0) || strlen(hash) != 60)
			return webconfig_fail(p, v, user, "not a bcrypt hash "
			    "(expected 60 characters starting $2a$, $2b$ or "
			    "$2y$; make one with htpasswd -nBC 10 \"\" | tr -d "
			    "':\\n')");
		wc->users[wc->nusers].name = xstrdup(user, "a user name");
		wc->users[wc->nusers++].hash = xstrdup(hash, "a password hash");
	}
	return 0;
}

/* A key given twice is an error, not a silent override. */
static int
webconfig_unique_keys(struct webconfig_parse *p, const yaml_node_t *map)
{
	yaml_node_pair_t *a, *b;
	const char *ka, *kb;

	for (a = map->data.mapping.pairs.start;
	    a < map->data.mapping.pairs.top; a++)
		for (b = map->data.mapping.pairs.start; b < a; b++) {
			ka = webconfig_scalar(yaml_document_get_node(p->doc,
			    a->key));
			kb = webconfig_scalar(yaml_document_get_node(p->doc,
			    b->key));
			if (ka != NULL && kb != NULL && strcmp(ka, kb) == 0)
				return webconfig_fail(p, yaml_document_get_node(
				    p->doc, a->key), ka, "duplicate key");
		}
	return 0;
}

static int
webconfig_root(struct webconfig_parse *p, struct webconfig *wc)
{
	const yaml_node_t *root = yaml_document_get_root_node(p->doc), *k, *v;
	yaml_node_pair_t *pair;
	const char *key;

	if (root == NULL)
		return 0;	/* an empty file: plain HTTP, no users */
	if (root->type != YAML_MAPPING_NODE)
		return webconfig_fail(p, root, NULL, "the file must be a "
		    "mapping (tls_server_config, basic_auth_users)");
	if (webconfig_unique_keys(p, root) == -1)
		return -1;
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		if ((key = webconfig_scalar(k)) == NULL)
			return webconfig_fail(p, k, NULL, "keys must be text");
		if (v->type == YAML_SCALAR_NODE &&
		    (strcmp(webconfig_scalar(v), "") == 0 ||
		    strcmp(webconfig_scalar(v), "null") == 0 ||
		    strcmp(webconfig_scalar(v), "~") == 0))
			continue;	/* "key:" with no value: absent */
		if (strcmp(key, "tls_server_config") == 0) {
			if (webconfig_tls(p, v, wc) == -1)
				return -1;
		} else if (strcmp(key, "basic_auth_users") == 0) {
			if (webconfig_users(p, v, wc) == -1)
				return -1;
		} else
			return webconfig_fail(p, k, key, "unknown or "
			    "unsupported key (pushprox implements "
			    "tls_server_config and basic_auth_users)");
	}
	return 0;
}

struct webconfig *
webconfig_load(const char *path, char *err, size_t errlen)
{
	struct webconfig_parse p = { .path = path, .err = err,
	    .errlen = errlen };
	struct webconfig *wc = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	char *copy = NULL;
	FILE *f;
	long size;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    size > LIMIT_WEBCONFIG_BYTES || fseek(f, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s: cannot read, or larger than %d "
		    "bytes", path, LIMIT_WEBCONFIG_BYTES);
		fclose(f);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s: line %lu: invalid YAML: %s", path,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return NULL;
	}
	p.doc = &doc;
	wc = xcalloc(1, sizeof(*wc), "the web config");
	copy = xstrdup(path, "the web config path");
	p.dir = xstrdup(dirname(copy), "the web config folder");
	wc->min_version = TLS1_2_VERSION;	/* the toolkit's default */
	if (webconfig_root(&p, wc) == -1) {
		webconfig_free(wc);
		wc = NULL;
	}
	free(copy);
	free(p.dir);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return wc;
}

void
webconfig_free(struct webconfig *wc)
{
	size_t i;

	if (wc == NULL)
		return;
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->client_ca_file);
	for (i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc);
}

const char *
webconfig_user_hash(const struct webconfig *wc, const char *user)
{
	size_t i;

	for (i = 0; i < wc->nusers; i++)
		if (wc->users[i].name != NULL &&
		    strcmp(wc->users[i].name, user) == 0)
			return wc->users[i].hash;
	return NULL;
}

const char *
webconfig_client_auth_name(enum webconfig_client_auth a)
{
	return webconfig_auth_names[a];
}
