/*
 * Web configuration parsing.  libyaml's document API gives a node tree;
 * we walk it against the toolkit's schema (with common/yamlstrict.c) and
 * report the first problem with its line.  Only what pushprox implements
 * is accepted: a key we do not implement is an error rather than silently
 * weaker security.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <yaml.h>

#include "log.h"
#include "pushprox_limits.h"
#include "webconfig.h"
#include "xmalloc.h"
#include "yamlstrict.h"


static const char *const webconfig_auth_names[] = {
	"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
	"VerifyClientCertIfGiven", "RequireAndVerifyClientCert", NULL,
};

/* A file path, resolved against the config file's folder. */
static int
webconfig_path(struct yamlstrict *p, const yaml_node_t *n,
    const char *key, char **out)
{
	return yamlstrict_path(p, n, key, "must be a file path", out);
}

static int
webconfig_version(struct yamlstrict *p, const yaml_node_t *n,
    const char *key, int *out)
{
	static const struct { const char *name; int v; } versions[] = {
		{ "TLS10", TLS1_VERSION }, { "TLS11", TLS1_1_VERSION },
		{ "TLS12", TLS1_2_VERSION }, { "TLS13", TLS1_3_VERSION },
	};
	const char *v = yamlstrict_scalar(n);
	size_t i;

	for (i = 0; v != NULL && i < sizeof(versions) / sizeof(versions[0]);
	    i++)
		if (strcmp(v, versions[i].name) == 0) {
			*out = versions[i].v;
			return 0;
		}
	return yamlstrict_fail(p, n, key, "\"%s\" is not one of TLS10, TLS11, "
	    "TLS12, TLS13", v != NULL ? v : "");
}

static int
webconfig_tls(struct yamlstrict *p, const yaml_node_t *map,
    struct webconfig *wc)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *k, *v;
	const char *key, *s;
	size_t i;

	if (map->type != YAML_MAPPING_NODE)
		return yamlstrict_fail(p, map, "tls_server_config",
		    "must be a mapping");
	wc->tls = true;
	if (yamlstrict_unique_keys(p, map) == -1)
		return -1;
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yamlstrict_node(p, pair->key);
		v = yamlstrict_node(p, pair->value);
		if ((key = yamlstrict_scalar(k)) == NULL)
			return yamlstrict_fail(p, k, NULL, "keys must be text");
		if (strcmp(key, "cert_file") == 0) {
			if (webconfig_path(p, v, key, &wc->cert_file) == -1)
				return -1;
		} else if (strcmp(key, "key_file") == 0) {
			if (webconfig_path(p, v, key, &wc->key_file) == -1)
				return -1;
		} else if (strcmp(key, "client_ca_file") == 0) {
			if (webconfig_path(p, v, key,
			    &wc->client_ca_file) == -1)
				return -1;
		} else if (strcmp(key, "client_auth_type") == 0) {
			s = yamlstrict_scalar(v);
			for (i = 0; webconfig_auth_names[i] != NULL; i++)
				if (s != NULL &&
				    strcmp(s, webconfig_auth_names[i]) == 0)
					break;
			if (webconfig_auth_names[i] == NULL)
				return yamlstrict_fail(p, v, key, "\"%s\" is "
				    "not one of NoClientCert, "
				    "RequestClientCert, "
				    "RequireAnyClientCert, "
				    "VerifyClientCertIfGiven, "
				    "RequireAndVerifyClientCert",
				    s != NULL ? s : "");
			wc->client_auth = (enum webconfig_client_auth)i;
		} else if (strcmp(key, "min_version") == 0) {
			if (webconfig_version(p, v, key,
			    &wc->min_version) == -1)
				return -1;
		} else if (strcmp(key, "max_version") == 0) {
			if (webconfig_version(p, v, key,
			    &wc->max_version) == -1)
				return -1;
		} else
			return yamlstrict_fail(p, k, key, "unknown or "
			    "unsupported key in tls_server_config");
	}
	if (wc->cert_file == NULL || wc->key_file == NULL)
		return yamlstrict_fail(p, map, "tls_server_config",
		    "cert_file and key_file are both required");
	if (wc->client_auth >= WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN &&
	    wc->client_ca_file == NULL)
		return yamlstrict_fail(p, map, "client_ca_file", "required "
		    "when client_auth_type verifies client certificates");
	if (wc->max_version != 0 && wc->max_version < wc->min_version)
		return yamlstrict_fail(p, map, "max_version",
		    "lower than min_version");
	return 0;
}

static int
webconfig_users(struct yamlstrict *p, const yaml_node_t *map,
    struct webconfig *wc)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *k, *v;
	const char *user, *hash;
	size_t n;

	if (map->type != YAML_MAPPING_NODE)
		return yamlstrict_fail(p, map, "basic_auth_users",
		    "must be a mapping of user: bcrypt hash");
	n = (size_t)(map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start);
	if (n > LIMIT_WEBCONFIG_USERS)
		return yamlstrict_fail(p, map, "basic_auth_users",
		    "more than %d users", LIMIT_WEBCONFIG_USERS);
	if (n == 0)
		return 0;
	wc->users = xcalloc(n, sizeof(*wc->users), "basic_auth_users");
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yamlstrict_node(p, pair->key);
		v = yamlstrict_node(p, pair->value);
		user = yamlstrict_scalar(k);
		hash = yamlstrict_scalar(v);
		if (user == NULL || *user == '\0' || strchr(user, ':') != NULL)
			return yamlstrict_fail(p, k, "basic_auth_users",
			    "user names must be non-empty text without ':'");
		if (webconfig_user_hash(wc, user) != NULL)
			return yamlstrict_fail(p, k, user, "duplicate user");
		if (hash == NULL || (strncmp(hash, "$2a$", 4) != 0 &&
		    strncmp(hash, "$2b$", 4) != 0 &&
		    strncmp(hash, "$2y$", 4) != 0) || strlen(hash) != 60)
			return yamlstrict_fail(p, v, user, "not a bcrypt hash "
			    "(expected 60 characters starting $2a$, $2b$ or "
			    "$2y$; make one with htpasswd -nBC 10 \"\" | tr -d "
			    "':\\n')");
		wc->users[wc->nusers].name = xstrdup(user, "a user name");
		wc->users[wc->nusers++].hash = xstrdup(hash, "a password hash");
	}
	return 0;
}

static int
webconfig_root(struct yamlstrict *p, struct webconfig *wc)
{
	const yaml_node_t *root, *k, *v;
	yaml_node_pair_t *pair;
	const char *key;

	root = yaml_document_get_root_node(&p->document);
	if (root == NULL)
		return 0;	/* an empty file: plain HTTP, no users */
	if (root->type != YAML_MAPPING_NODE)
		return yamlstrict_fail(p, root, NULL, "the file must be a "
		    "mapping (tls_server_config, basic_auth_users)");
	if (yamlstrict_unique_keys(p, root) == -1)
		return -1;
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		k = yamlstrict_node(p, pair->key);
		v = yamlstrict_node(p, pair->value);
		if ((key = yamlstrict_scalar(k)) == NULL)
			return yamlstrict_fail(p, k, NULL, "keys must be text");
		if (yamlstrict_null_text(yamlstrict_scalar(v)))
			continue;	/* "key:" with no value: absent */
		if (strcmp(key, "tls_server_config") == 0) {
			if (webconfig_tls(p, v, wc) == -1)
				return -1;
		} else if (strcmp(key, "basic_auth_users") == 0) {
			if (webconfig_users(p, v, wc) == -1)
				return -1;
		} else
			return yamlstrict_fail(p, k, key, "unknown or "
			    "unsupported key (pushprox implements "
			    "tls_server_config and basic_auth_users)");
	}
	return 0;
}

struct webconfig *
webconfig_load(const char *path, char *err, size_t errlen)
{
	struct yamlstrict p;
	struct webconfig *wc;
	char toobig[32];

	snprintf(toobig, sizeof(toobig), "%d bytes", LIMIT_WEBCONFIG_BYTES);
	if (yamlstrict_load(&p, path, LIMIT_WEBCONFIG_BYTES, toobig, err,
	    errlen) == -1)
		return NULL;
	p.whymax = 256;		/* its reasons were always cut there */
	wc = xcalloc(1, sizeof(*wc), "the web config");
	wc->min_version = TLS1_2_VERSION;	/* the toolkit's default */
	if (webconfig_root(&p, wc) == -1) {
		webconfig_free(wc);
		wc = NULL;
	}
	yamlstrict_close(&p);
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
