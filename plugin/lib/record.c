#include "record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "bindings.h"
#include "version.h"

#define CHUNK 4096 /* value size of the record array; the text is split over entries */

int skl_record_add_route(struct skl_route **v, size_t *n, const struct skl_route *r,
			 struct skl_err *err)
{
	struct skl_route *p = realloc(*v, (*n + 1) * sizeof(**v));

	if (!p)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	p[(*n)++] = *r;
	*v = p;
	return 0;
}

/* cJSON's Add and Create calls return NULL (or false) when an allocation
 * fails: a record that silently lacks a route would make DEL leave that
 * route behind, so every one of them is checked and any failure fails the
 * whole record. add_item takes item (NULL when its creation failed). */
static bool add_item(cJSON *o, const char *key, cJSON *item)
{
	bool ok = item && (key ? cJSON_AddItemToObject(o, key, item)
			       : cJSON_AddItemToArray(o, item));

	if (!ok)
		cJSON_Delete(item);
	return ok;
}

static cJSON *routes_json(const struct skl_route *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char prefix[64], gw[INET6_ADDRSTRLEN];
		bool ok;

		skl_prefix_format(v[i].family, v[i].plen, v[i].addr, prefix, sizeof(prefix));
		if (!add_item(arr, NULL, o))
			goto fail;
		ok = cJSON_AddStringToObject(o, "kind",
					     v[i].kind == SKL_ROUTE_LOCAL ? "local" : "via") &&
		     cJSON_AddStringToObject(o, "prefix", prefix);
		if (ok && v[i].kind == SKL_ROUTE_VIA) {
			inet_ntop(v[i].family == SKL_FAMILY_V4 ? AF_INET : AF_INET6, v[i].gw, gw,
				  sizeof(gw));
			ok = cJSON_AddStringToObject(o, "via", gw) != NULL;
		}
		if (!ok)
			goto fail;
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

static cJSON *reserved_json(const struct skl_record *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < r->n_reserved; i++) {
		char s[32];

		snprintf(s, sizeof(s), "%u-%u", r->reserved[i].lo, r->reserved[i].hi);
		if (!add_item(arr, NULL, cJSON_CreateString(s))) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

/* "pod" only when something of it is known: a record of a pod ADD got no
 * CNI_ARGS for stays as older releases wrote it. */
static bool add_pod(cJSON *o, const struct skl_record *r)
{
	if (skl_pod_identity_empty(&r->pod))
		return true;
	return add_item(o, "pod", skl_pod_identity_to_json(&r->pod, false));
}

char *skl_record_text(const struct skl_record *r)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddNumberToObject(o, "version", 1) &&
	    (!r->state_dir[0] || cJSON_AddStringToObject(o, "stateDir", r->state_dir)) &&
	    (!r->link_id || cJSON_AddNumberToObject(o, "linkId", r->link_id)) &&
	    cJSON_AddNumberToObject(o, "netnsIno", (double)r->netns_ino) &&
	    add_item(o, "podRoutes", routes_json(r->pod_routes, r->n_pod_routes)) &&
	    add_item(o, "hostRoutes", routes_json(r->host_routes, r->n_host_routes)) &&
	    add_item(o, "reservedPorts", reserved_json(r)) &&
	    cJSON_AddNumberToObject(o, "unreservedRanges", (double)r->n_unreserved) &&
	    add_pod(o, r) &&
	    cJSON_AddStringToObject(o, "release", skl_version) &&
	    cJSON_AddNumberToObject(o, "abi", SKL_ABI_VERSION))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* A record of one chunk replaces the pinned one of one chunk in place: a
 * single element update, which a crash cannot leave half done (the kernel
 * copies the value inside one syscall), and ADD saves the record about ten
 * times. Returns 1 when there is no such record to update. */
static int save_in_place(const char *final, const char *text, size_t len)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info), zero = 0;
	char chunk[CHUNK] = { 0 };
	int fd = bpf_obj_get(final), ret = 1;

	if (fd < 0)
		return 1;
	if (len <= CHUNK && !bpf_obj_get_info_by_fd(fd, &info, &info_len) &&
	    info.value_size == CHUNK && info.max_entries == 1) {
		memcpy(chunk, text, len);
		ret = bpf_map_update_elem(fd, &zero, chunk, BPF_ANY) ? -1 : 0;
	}
	close(fd);
	return ret;
}

int skl_record_save(const struct skl_record *r, const char *dir, struct skl_err *err)
{
	return skl_record_save_bound(r, dir, -1, err);
}

int skl_record_save_bound(const struct skl_record *r, const char *dir, int prog_fd,
			  struct skl_err *err)
{
	char *text = skl_record_text(r), path[PATH_MAX], final[PATH_MAX], chunk[CHUNK];
	size_t len, chunks;
	int fd = -1, ret = -1;

	if (!text)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	len = strlen(text) + 1;
	chunks = (len + CHUNK - 1) / CHUNK;
	snprintf(path, sizeof(path), "%s/%s-new", dir, SKL_PIN_RECORD);
	snprintf(final, sizeof(final), "%s/%s", dir, SKL_PIN_RECORD);
	switch (save_in_place(final, text, len)) {
	case 0:
		ret = 0;
		goto out;
	case -1:
		skl_errf(err, SKL_CNI_INTERNAL, "writing the state record: %s", strerror(errno));
		goto out;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, SKL_PIN_RECORD, sizeof(uint32_t), CHUNK,
			    (uint32_t)chunks, NULL);
	if (fd < 0) {
		skl_errf(err, SKL_CNI_INTERNAL, "creating the state record: %s", strerror(errno));
		goto out;
	}
	/* A record updated in place stays bound; a new map is bound here. */
	if (prog_fd >= 0 && bpf_prog_bind_map(prog_fd, fd, NULL)) {
		skl_errf(err, SKL_CNI_INTERNAL, "binding the state record to the dispatcher: %s",
			 strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < chunks; i++) {
		size_t off = (size_t)i * CHUNK, n = len - off < CHUNK ? len - off : CHUNK;

		memset(chunk, 0, sizeof(chunk));
		memcpy(chunk, text + off, n);
		if (bpf_map_update_elem(fd, &i, chunk, BPF_ANY)) {
			skl_errf(err, SKL_CNI_INTERNAL, "writing the state record: %s",
				 strerror(errno));
			goto out;
		}
	}
	/* A new size: pin aside, rename over, so a crash leaves the old
	 * record or the new one, never none. */
	unlink(path);
	if (bpf_obj_pin(fd, path) || rename(path, final)) {
		skl_errf(err, SKL_CNI_INTERNAL, "pinning %s: %s", final, strerror(errno));
		unlink(path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return ret;
}

int skl_record_bind(const char *dir, int prog_fd, struct skl_err *err)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SKL_PIN_RECORD) >= sizeof(path))
		return skl_errf(err, SKL_CNI_INTERNAL, "state path too long: %s", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "opening %s: %s", path,
						       strerror(errno));
	/* Binding a map the program holds already changes nothing. */
	if (bpf_prog_bind_map(prog_fd, fd, NULL))
		ret = skl_errf(err, SKL_CNI_INTERNAL, "binding %s to the dispatcher: %s", path,
			       strerror(errno));
	close(fd);
	return ret;
}

static char *read_text(int fd, const char *what, struct skl_err *err)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info);
	char *text;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || info.value_size != CHUNK ||
	    info.max_entries < 1) {
		skl_errf(err, SKL_CNI_INTERNAL, "%s is not a state record", what);
		return NULL;
	}
	text = calloc(info.max_entries, CHUNK);
	if (!text) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < info.max_entries; i++)
		if (bpf_map_lookup_elem(fd, &i, text + (size_t)i * CHUNK)) {
			skl_errf(err, SKL_CNI_INTERNAL, "reading %s: %s", what, strerror(errno));
			free(text);
			return NULL;
		}
	text[(size_t)info.max_entries * CHUNK - 1] = 0;
	return text;
}

static int parse_routes(const cJSON *arr, struct skl_route **v, size_t *n, struct skl_err *err)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
		const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(o, "prefix");
		const cJSON *via = cJSON_GetObjectItemCaseSensitive(o, "via");
		struct skl_route r = { 0 };

		if (!cJSON_IsString(kind) || !cJSON_IsString(prefix) ||
		    skl_prefix_parse(prefix->valuestring, &r.family, &r.plen, r.addr, err))
			return skl_errf(err, SKL_CNI_INTERNAL, "the state record has a bad route");
		r.kind = strcmp(kind->valuestring, "local") ? SKL_ROUTE_VIA : SKL_ROUTE_LOCAL;
		if (r.kind == SKL_ROUTE_VIA &&
		    (!cJSON_IsString(via) ||
		     inet_pton(r.family == SKL_FAMILY_V4 ? AF_INET : AF_INET6, via->valuestring,
			       r.gw) != 1))
			return skl_errf(err, SKL_CNI_INTERNAL, "the state record has a bad gateway");
		if (skl_record_add_route(v, n, &r, err))
			return -1;
	}
	return 0;
}

/* A number field that must be a whole number in 0..2^53 (what JSON carries
 * exactly); anything else, missing included, is a bad record. */
static int whole_number(const cJSON *o, const char *key, uint64_t *out)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, key);
	double v = f && cJSON_IsNumber(f) ? f->valuedouble : -1;

	if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int skl_record_load(const char *dir, struct skl_record *r, struct skl_err *err)
{
	char path[PATH_MAX];
	int fd, ret;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s", dir, SKL_PIN_RECORD);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening %s: %s", path, strerror(errno));
	ret = skl_record_load_fd(fd, path, r, err);
	close(fd);
	return ret;
}

/* The pod's identity: absent in older records and when ADD got none. */
static int optional_pod(const cJSON *o, struct skl_record *r)
{
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(o, "pod");

	return pod ? skl_pod_identity_from_json(pod, SKL_PIN_RECORD, &r->pod, NULL) : 0;
}

/* The release identity, absent in records of earlier releases. */
static int release_fields(const cJSON *o, struct skl_record *r)
{
	const cJSON *release = cJSON_GetObjectItemCaseSensitive(o, "release");
	uint64_t abi = 0;

	if (release && (!cJSON_IsString(release) ||
			strlen(release->valuestring) >= sizeof(r->release)))
		return -1;
	if (release)
		snprintf(r->release, sizeof(r->release), "%s", release->valuestring);
	if (cJSON_GetObjectItemCaseSensitive(o, "abi") &&
	    (whole_number(o, "abi", &abi) || abi > UINT32_MAX))
		return -1;
	r->abi = (uint32_t)abi;
	return 0;
}

void skl_record_release_text(const struct skl_record *r, char *buf, size_t len)
{
	if (r->release[0])
		snprintf(buf, len, "sklookup %s, map layout %u", r->release, r->abi);
	else
		snprintf(buf, len, "a release of sklookup from before release identities were "
			 "recorded");
}

void skl_record_release_of(const char *dir, char *buf, size_t len)
{
	struct skl_record r;

	if (skl_record_load(dir, &r, NULL)) {
		snprintf(buf, len, "an unknown release (the pod has no readable record)");
		return;
	}
	skl_record_release_text(&r, buf, len);
	skl_record_free(&r);
}

/* The optional fields of later records: absent is "", 0. */
static int optional_fields(const cJSON *o, struct skl_record *r)
{
	const cJSON *dir = cJSON_GetObjectItemCaseSensitive(o, "stateDir");
	uint64_t link_id = 0;

	if (dir && (!cJSON_IsString(dir) || strlen(dir->valuestring) >= sizeof(r->state_dir)))
		return -1;
	if (dir)
		snprintf(r->state_dir, sizeof(r->state_dir), "%s", dir->valuestring);
	if (cJSON_GetObjectItemCaseSensitive(o, "linkId") &&
	    (whole_number(o, "linkId", &link_id) || link_id > UINT32_MAX))
		return -1;
	r->link_id = (uint32_t)link_id;
	return optional_pod(o, r) || release_fields(o, r) ? -1 : 0;
}

int skl_record_load_fd(int fd, const char *what, struct skl_record *r, struct skl_err *err)
{
	char *text = read_text(fd, what, err);
	const cJSON *reserved, *s;
	uint64_t unreserved;
	cJSON *o;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (!text)
		return -1;
	o = cJSON_Parse(text);
	free(text);
	if (!o)
		return skl_errf(err, SKL_CNI_INTERNAL, "%s is not valid JSON", what);
	if (whole_number(o, "netnsIno", &r->netns_ino) ||
	    whole_number(o, "unreservedRanges", &unreserved) || optional_fields(o, r)) {
		skl_errf(err, SKL_CNI_INTERNAL, "%s has a bad field", what);
		goto out;
	}
	r->n_unreserved = (size_t)unreserved;
	if (parse_routes(cJSON_GetObjectItemCaseSensitive(o, "podRoutes"), &r->pod_routes,
			 &r->n_pod_routes, err) ||
	    parse_routes(cJSON_GetObjectItemCaseSensitive(o, "hostRoutes"), &r->host_routes,
			 &r->n_host_routes, err))
		goto out;
	reserved = cJSON_GetObjectItemCaseSensitive(o, "reservedPorts");
	r->reserved = calloc((size_t)cJSON_GetArraySize(reserved) + 1, sizeof(*r->reserved));
	if (!r->reserved) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(s, reserved) {
		if (!cJSON_IsString(s) ||
		    skl_port_range_parse(s->valuestring, &r->reserved[r->n_reserved], err)) {
			skl_errf(err, SKL_CNI_INTERNAL, "the state record has a bad port range");
			goto out;
		}
		r->n_reserved++;
	}
	ret = 0;
out:
	cJSON_Delete(o);
	if (ret)
		skl_record_free(r);
	return ret;
}

int skl_record_blank(int fd, struct skl_err *err)
{
	static const char zero[CHUNK];
	uint32_t first = 0;

	if (bpf_map_update_elem(fd, &first, zero, BPF_ANY))
		return skl_errf(err, SKL_CNI_INTERNAL, "blanking a state record: %s",
				strerror(errno));
	return 0;
}

void skl_record_free(struct skl_record *r)
{
	free(r->pod_routes);
	free(r->host_routes);
	free(r->reserved);
	memset(r, 0, sizeof(*r));
}
