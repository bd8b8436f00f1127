/* sklookup-ctl install and uninstall: their command line and the entry
 * they add (ctl_install.h). */
#include "ctl_install.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static const char *const step_names[] = { "bpffs", "binaries", "config" };

static int parse_seconds(const char *name, const char *value, long min, long *out,
			 struct skl_err *err)
{
	if (skl_ctl_parse_long(value, min, MAX_SECONDS, out))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s \"%s\": give a whole number of seconds, %ld to %d", name, value,
				min, MAX_SECONDS);
	return 0;
}

/* Options of install (all) and uninstall (the two directories). */
int skl_install_parse_options(int argc, char **argv, bool install, struct install_opts *o,
			      struct skl_err *err)
{
	static const struct {
		const char *name;
		size_t offset;
		bool uninstall_too;
	} dirs[] = {
		{ "--cni-bin-dir", offsetof(struct install_opts, bin_dir), true },
		{ "--cni-conf-dir", offsetof(struct install_opts, conf_dir), true },
		{ "--from", offsetof(struct install_opts, from), false },
		{ "--bpffs", offsetof(struct install_opts, bpffs), false },
		{ "--entry", offsetof(struct install_opts, entry_text), false },
		{ "--entry-file", offsetof(struct install_opts, entry_file), false },
	};

	for (int i = 1; i < argc; i++) {
		const char *value;
		bool taken = false;
		int got;

		for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]) && !taken; k++) {
			if (!install && !dirs[k].uninstall_too)
				continue;
			got = skl_ctl_take_value(argc, argv, &i, dirs[k].name, &value, err);
			if (got < 0)
				return -1;
			if (got) {
				if (!*value)
					return skl_errf(err, SKL_CNI_INVALID_CONFIG,
							"%s: give a value, not \"\"", dirs[k].name);
				*(const char **)((char *)o + dirs[k].offset) = value;
				taken = true;
			}
		}
		if (taken)
			continue;
		if (install && (got = skl_ctl_take_value(argc, argv, &i, "--wait", &value, err))) {
			if (got < 0 || parse_seconds("--wait", value, 0, &o->wait_s, err))
				return -1;
		} else if (install &&
			   (got = skl_ctl_take_value(argc, argv, &i, "--watch", &value, err))) {
			if (got < 0 || parse_seconds("--watch", value, 1, &o->watch_s, err))
				return -1;
		} else if (install && !strcmp(argv[i], "--uninstall-on-exit")) {
			o->uninstall_on_exit = true;
		} else if (install && argv[i][0] != '-') {
			int s = 0;

			while (s < N_STEPS && strcmp(argv[i], step_names[s]))
				s++;
			if (s == N_STEPS)
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"install: unknown step \"%s\" (bpffs, binaries, "
						"config)", argv[i]);
			if (o->n_steps == MAX_STEPS)
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"install: at most %d steps", MAX_STEPS);
			o->steps[o->n_steps++] = (enum step)s;
		} else {
			return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: unexpected \"%s\"; see %s "
					"--help", argv[0], argv[i], argv[0]);
		}
	}
	if (o->entry_text && o->entry_file)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"install: give --entry or --entry-file, not both");
	if (o->uninstall_on_exit && !o->watch_s)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"install: --uninstall-on-exit needs --watch SECONDS (it uninstalls "
				"when the watch stops)");
	if (!o->n_steps && install) {
		o->steps[0] = STEP_BPFFS;
		o->steps[1] = STEP_BINARIES;
		o->steps[2] = STEP_CONFIG;
		o->n_steps = 3;
	}
	return 0;
}

/* --entry, --entry-file or the default, checked before any step runs. */
int skl_install_load_entry(struct install_opts *o, struct skl_err *err)
{
	char where[PATH_MAX + 16], *text = NULL;
	size_t len;

	if (o->entry_file) {
		snprintf(where, sizeof(where), "--entry-file %s", o->entry_file);
		/* A ConfigMap's file is a symbolic link: follow it (a plain
		 * read; nothing is written there). */
		FILE *f = fopen(o->entry_file, "r");

		if (!f)
			return skl_errf(err, SKL_CNI_IO_FAILURE, "%s: %s", where, strerror(errno));
		text = malloc(SKL_INSTALL_CONF_MAX + 1);
		len = text ? fread(text, 1, SKL_INSTALL_CONF_MAX + 1, f) : 0;
		fclose(f);
		if (!text)
			return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		if (len > SKL_INSTALL_CONF_MAX) {
			free(text);
			return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: larger than %d bytes",
					where, SKL_INSTALL_CONF_MAX);
		}
		text[len] = 0;
		if (strlen(text) != len) {
			free(text);
			return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: holds a NUL byte", where);
		}
	} else {
		snprintf(where, sizeof(where), "%s", o->entry_text ? "--entry" : "the default entry");
	}
	o->entry = skl_install_entry_parse(text ? text : o->entry_text ? o->entry_text
								       : SKL_INSTALL_DEFAULT_ENTRY,
					   where, err);
	free(text);
	return o->entry ? 0 : -1;
}
