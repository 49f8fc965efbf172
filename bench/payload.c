/*
 * Scrape bodies: plausible Prometheus text exposition (HELP and TYPE lines,
 * counters, gauges, a histogram and a summary, with the label sets a node
 * exporter or an instrumented service has) of an exact size, optionally
 * gzip-compressed once up front; CRC-32 of what is sent, and an endless
 * stream made by repeating a block, for bodies far larger than memory
 * should hold.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "bench.h"
#include "buf.h"

static const char *const payload_modes[] = {
	"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
};

static const char *const payload_le[] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "10", "+Inf",
};

static const char *const payload_handlers[] = {
	"/api/v1/query", "/api/v1/query_range", "/api/v1/series",
	"/api/v1/labels", "/federate", "/metrics",
};

/* A value that looks like a measurement. */
static unsigned long long
payload_value(uint64_t *rng, unsigned long long scale)
{
	return (unsigned long long)bench_rand(rng) % scale;
}

/* One family (HELP, TYPE and its series) into b; -1 when b is full. */
static int
payload_family(struct buf *b, unsigned kind, unsigned round, uint64_t *rng)
{
	char sfx[16] = "";
	unsigned i, j;
	unsigned long long acc;
	int rv = 0;

	if (round > 0)
		snprintf(sfx, sizeof(sfx), "_%u", round);
	switch (kind) {
	case 0:
		rv |= buf_printf(b, "# HELP node_cpu_seconds_total%s Seconds "
		    "the CPUs spent in each mode.\n# TYPE "
		    "node_cpu_seconds_total%s counter\n", sfx, sfx);
		for (i = 0; i < 16 && rv == 0; i++)
			for (j = 0; j < 8 && rv == 0; j++)
				rv |= buf_printf(b, "node_cpu_seconds_total%s{"
				    "cpu=\"%u\",mode=\"%s\"} %llu.%02llu\n", sfx,
				    i, payload_modes[j],
				    payload_value(rng, 10000000),
				    payload_value(rng, 100));
		break;
	case 1:
		rv |= buf_printf(b, "# HELP node_network_receive_bytes_total%s "
		    "Network device statistic receive_bytes.\n# TYPE "
		    "node_network_receive_bytes_total%s counter\n", sfx, sfx);
		for (i = 0; i < 12 && rv == 0; i++)
			rv |= buf_printf(b, "node_network_receive_bytes_total%s{"
			    "device=\"%s%u\"} %.9e\n", sfx, i < 4 ? "eth" :
			    "veth", i, (double)payload_value(rng,
			    1000000000000ULL));
		break;
	case 2:
		rv |= buf_printf(b, "# HELP node_filesystem_avail_bytes%s "
		    "Filesystem space available to non-root users in bytes.\n"
		    "# TYPE node_filesystem_avail_bytes%s gauge\n", sfx, sfx);
		for (i = 0; i < 10 && rv == 0; i++)
			rv |= buf_printf(b, "node_filesystem_avail_bytes%s{"
			    "device=\"/dev/nvme0n1p%u\",fstype=\"ext4\","
			    "mountpoint=\"/srv/data%u\"} %.9e\n", sfx, i + 1, i,
			    (double)payload_value(rng, 500000000000ULL));
		break;
	case 3:
		rv |= buf_printf(b, "# HELP http_request_duration_seconds%s A "
		    "histogram of latencies for requests.\n# TYPE "
		    "http_request_duration_seconds%s histogram\n", sfx, sfx);
		for (i = 0; i < 6 && rv == 0; i++) {
			acc = 0;
			for (j = 0; j < 12 && rv == 0; j++) {
				acc += payload_value(rng, 5000);
				rv |= buf_printf(b, "http_request_duration_"
				    "seconds%s_bucket{code=\"200\",handler=\"%s\","
				    "method=\"GET\",le=\"%s\"} %llu\n", sfx,
				    payload_handlers[i], payload_le[j], acc);
			}
			rv |= buf_printf(b, "http_request_duration_seconds%s_sum{"
			    "code=\"200\",handler=\"%s\",method=\"GET\"} "
			    "%llu.%03llu\n", sfx, payload_handlers[i],
			    payload_value(rng, 100000), payload_value(rng, 1000));
			rv |= buf_printf(b, "http_request_duration_seconds%s_count"
			    "{code=\"200\",handler=\"%s\",method=\"GET\"} %llu\n",
			    sfx, payload_handlers[i], acc);
		}
		break;
	default:
		rv |= buf_printf(b, "# HELP go_gc_duration_seconds%s A summary "
		    "of the pause duration of garbage collection cycles.\n"
		    "# TYPE go_gc_duration_seconds%s summary\n", sfx, sfx);
		for (j = 0; j < 5 && rv == 0; j++)
			rv |= buf_printf(b, "go_gc_duration_seconds%s{quantile="
			    "\"%s\"} %llu.%06llue-05\n", sfx, j == 0 ? "0" :
			    j == 1 ? "0.25" : j == 2 ? "0.5" : j == 3 ? "0.75" :
			    "1", payload_value(rng, 9), payload_value(rng,
			    1000000));
		rv |= buf_printf(b, "go_gc_duration_seconds%s_sum %llu.%03llu\n"
		    "go_gc_duration_seconds%s_count %llu\n", sfx,
		    payload_value(rng, 100), payload_value(rng, 1000), sfx,
		    payload_value(rng, 100000));
		break;
	}
	return rv != 0 ? -1 : 0;
}

/* Exactly size bytes of text in out (malloc'd). */
static int
payload_text(size_t size, unsigned char **out)
{
	struct buf fam;
	uint64_t rng = 0x5eed5eedULL;
	unsigned kind = 0, round = 0;
	unsigned char *all;
	size_t len = 0, cut;

	if ((all = malloc(size + 1)) == NULL)
		return -1;
	buf_init(&fam, 1 << 20);
	while (len < size) {
		buf_reset(&fam);
		if (payload_family(&fam, kind, round, &rng) == -1)
			break;
		if (len + fam.len > size) {
			/* As many whole lines of it as fit. */
			for (cut = size - len; cut > 0 &&
			    fam.data[cut - 1] != '\n'; cut--)
				;
			memcpy(all + len, fam.data, cut);
			len += cut;
			break;
		}
		memcpy(all + len, fam.data, fam.len);
		len += fam.len;
		if (++kind == 5) {
			kind = 0;
			round++;
		}
	}
	buf_release(&fam);
	/* Fill to the exact size with a comment line (or an empty one). */
	if (size - len >= 2) {
		all[len] = '#';
		memset(all + len + 1, ' ', size - len - 2);
		all[size - 1] = '\n';
	} else if (size - len == 1)
		all[len] = '\n';
	all[size] = '\0';
	*out = all;
	return 0;
}

static int
payload_deflate(struct payload *p)
{
	z_stream zs;
	uLong bound;
	unsigned char *z;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&zs, (uLong)p->len) + 64;
	if (p->len > UINT_MAX / 2 || (z = malloc(bound)) == NULL) {
		deflateEnd(&zs);
		return -1;
	}
	zs.next_in = p->data;
	zs.avail_in = (uInt)p->len;
	zs.next_out = z;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(z);
		return -1;
	}
	free(p->data);
	p->data = z;
	p->len = (size_t)zs.total_out;
	deflateEnd(&zs);
	return 0;
}

int
payload_make(struct payload *p, size_t size, bool gzip)
{
	memset(p, 0, sizeof(*p));
	if (payload_text(size, &p->data) == -1)
		return -1;
	p->len = p->plain_len = size;
	p->gzip = gzip;
	if (gzip && payload_deflate(p) == -1) {
		payload_free(p);
		return -1;
	}
	p->crc = payload_crc(0, p->data, p->len);
	return 0;
}

void
payload_free(struct payload *p)
{
	free(p->data);
	memset(p, 0, sizeof(*p));
}

uint32_t
payload_crc(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *b = data;
	uInt n;

	while (len > 0) {
		n = len > (1U << 30) ? (1U << 30) : (uInt)len;
		crc = (uint32_t)crc32((uLong)crc, b, n);
		b += n;
		len -= n;
	}
	return crc;
}

uint32_t
payload_stream_crc(const struct payload *p, uint64_t total)
{
	uint32_t crc = 0;
	uint64_t n;

	while (total > 0) {
		n = total < p->len ? total : p->len;
		crc = payload_crc(crc, p->data, (size_t)n);
		total -= n;
	}
	return crc;
}

size_t
payload_stream_add(const struct payload *p, struct evbuffer *out,
    uint64_t *off, uint64_t max)
{
	uint64_t at = *off % p->len, n = p->len - at;

	if (n > max)
		n = max;
	if (n == 0 || evbuffer_add_reference(out, p->data + at, (size_t)n,
	    NULL, NULL) == -1)
		return 0;
	*off += n;
	return (size_t)n;
}
