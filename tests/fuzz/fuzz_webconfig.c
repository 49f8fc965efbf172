/*
 * common/webconfig.c webconfig_load: the exporter-toolkit web config file
 * (YAML, through libyaml).  Written by the operator, not remote input, but
 * a parser of arbitrary bytes all the same.  The whole input is the file's
 * content; it is written to one temporary file (created once per process,
 * rewritten for each input, removed at exit) and loaded.
 *
 * Invariants: on failure the error text is NUL-terminated inside its
 * buffer (an exact-size allocation whose size, 1..256, comes from the
 * input's length); on success every user has a name and a bcrypt hash
 * that webconfig_user_hash finds, and the enum has a name.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webconfig.h"

#include "fuzz_util.h"

static char fuzz_path[4096];

static void
fuzz_cleanup(void)
{
	if (fuzz_path[0] != '\0')
		unlink(fuzz_path);
}

static void
fuzz_write_file(const uint8_t *data, size_t size)
{
	const char	*tmp = getenv("TMPDIR");
	int		 fd;
	size_t		 off = 0;
	ssize_t		 w;

	if (fuzz_path[0] == '\0') {
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz_webconfig."
		    "XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if ((fd = mkstemp(fuzz_path)) == -1)
			abort();
		atexit(fuzz_cleanup);
	} else if ((fd = open(fuzz_path, O_WRONLY | O_TRUNC)) == -1)
		abort();
	while (off < size) {
		if ((w = write(fd, data + off, size - off)) <= 0)
			abort();
		off += (size_t)w;
	}
	if (ftruncate(fd, (off_t)size) == -1 || close(fd) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig	*wc;
	size_t			 errlen = 1 + size % 256, i;
	char			*err;

	fuzz_write_file(data, size);
	if ((err = malloc(errlen)) == NULL)
		abort();
	memset(err, 'X', errlen);
	if ((wc = webconfig_load(fuzz_path, err, errlen)) == NULL) {
		FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
		free(err);
		return 0;
	}
	if (wc->cert_file != NULL)
		fuzz_touch(wc->cert_file);
	if (wc->key_file != NULL)
		fuzz_touch(wc->key_file);
	if (wc->client_ca_file != NULL)
		fuzz_touch(wc->client_ca_file);
	fuzz_touch(webconfig_client_auth_name(wc->client_auth));
	FUZZ_CHECK(wc->nusers == 0 || wc->users != NULL);
	for (i = 0; i < wc->nusers; i++) {
		fuzz_touch(wc->users[i].name);
		FUZZ_CHECK(strncmp(wc->users[i].hash, "$2", 2) == 0);
		FUZZ_CHECK(webconfig_user_hash(wc, wc->users[i].name) != NULL);
	}
	FUZZ_CHECK(webconfig_user_hash(wc, "no such user \x01") == NULL);
	webconfig_free(wc);
	free(err);
	return 0;
}
