/*
 * File-backed stand-ins for the libbpf calls of record.c (fake_bpf.c), for
 * fuzzing the state record without BPF. Link instead of -lbpf.
 */
#ifndef SKL_FUZZ_FAKE_BPF_H
#define SKL_FUZZ_FAKE_BPF_H

#include <stddef.h>
#include <stdint.h>

#include <bpf/bpf.h>

/* A private directory for the fake pins (created on first use). */
const char *fake_bpf_dir(void);

/* Writes a fake pinned array map at path: size bytes of data cut into
 * entries of value_size bytes (the last one zero-padded). */
int fake_bpf_write_map(const char *path, uint32_t value_size, const uint8_t *data, size_t size);

/* The value size of the last map record.c created: its chunk size. */
extern uint32_t fake_bpf_last_value_size;

#endif
