/*
 * The Prometheus exporter-toolkit web configuration file, as Prometheus
 * users already write it (--web.config.file):
 *
 *   tls_server_config:
 *     cert_file: server.crt
 *     key_file: server.key
 *     client_ca_file: ca.crt
 *     client_auth_type: RequireAndVerifyClientCert
 *     min_version: TLS12
 *   basic_auth_users:
 *     alice: $2y$10$...      # bcrypt
 *
 * Parsed with libyaml, strictly as the toolkit does (unknown keys are
 * errors).  Relative file paths are resolved against the file's folder.
 */
#ifndef PUSHPROX_WEBCONFIG_H
#define PUSHPROX_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum webconfig_client_auth {
	WEBCONFIG_NO_CLIENT_CERT,
	WEBCONFIG_REQUEST_CLIENT_CERT,
	WEBCONFIG_REQUIRE_ANY_CLIENT_CERT,
	WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN,
	WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT,
};

struct webconfig_user {
	char	*name;
	char	*hash;		/* bcrypt, "$2a$", "$2b$" or "$2y$" */
};

struct webconfig {
	bool				 tls;	/* tls_server_config given */
	char				*cert_file;
	char				*key_file;
	char				*client_ca_file;
	enum webconfig_client_auth	 client_auth;
	int				 min_version;	/* OpenSSL's, e.g.
							   TLS1_2_VERSION */
	int				 max_version;	/* 0: no cap */
	struct webconfig_user		*users;
	size_t				 nusers;
};

/*
 * Loads and checks path.  Returns the config (caller frees with
 * webconfig_free), or NULL with err holding "FILE: line N: key: problem".
 */
struct webconfig *webconfig_load(const char *path, char *err, size_t errlen);

/* NULL is a no-op. */
void webconfig_free(struct webconfig *wc);

/* The bcrypt hash of user, or NULL; borrowed. */
const char *webconfig_user_hash(const struct webconfig *wc, const char *user);

/* The toolkit's name of a client_auth_type value. */
const char *webconfig_client_auth_name(enum webconfig_client_auth a);

#endif
