/*-------------------------------------------------------------------------
 * prop.h
 *	  Tiny harness for the property tests of the CRDT type cores: a seeded
 *	  PRNG, an arena allocator matching CrdtAllocFn, and a failing CHECK.
 *
 * Each *_prop.c is a standalone program linked with src/types/ *_core.c.
 * It must exit non-zero on the first violated property and print the seed
 * and iteration so the failure can be replayed.
 *
 * IDENTIFICATION
 *	  test/prop/prop.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_PROP_H
#define EDGE_CRDT_PROP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: deterministic across platforms for a given seed. */
static uint64_t prop_state = 88172645463325252ULL;

static inline void
prop_seed(uint64_t seed)
{
	prop_state = seed ? seed : 88172645463325252ULL;
}

static inline uint64_t
prop_next(void)
{
	prop_state ^= prop_state >> 12;
	prop_state ^= prop_state << 25;
	prop_state ^= prop_state >> 27;
	return prop_state * 2685821657736338717ULL;
}

/* Uniform in [0, n). */
static inline uint64_t
prop_below(uint64_t n)
{
	return n ? prop_next() % n : 0;
}

/*
 * Arena: every allocation is remembered and released by prop_arena_reset,
 * so long runs stay flat without the cores needing a free function.
 */
static void **prop_arena;
static size_t prop_arena_len;
static size_t prop_arena_cap;

static inline void *
prop_alloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (prop_arena_len == prop_arena_cap)
	{
		prop_arena_cap = prop_arena_cap ? prop_arena_cap * 2 : 1024;
		prop_arena = realloc(prop_arena, prop_arena_cap * sizeof(void *));
		if (prop_arena == NULL)
			exit(2);
	}
	prop_arena[prop_arena_len++] = p;
	return p;
}

static inline void
prop_arena_reset(void)
{
	for (size_t i = 0; i < prop_arena_len; i++)
		free(prop_arena[i]);
	prop_arena_len = 0;
}

static int	prop_checks;
static const char *prop_context = "";

#define CHECK(cond) \
	do { \
		prop_checks++; \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: property failed: %s (%s)\n", \
					__FILE__, __LINE__, #cond, prop_context); \
			exit(1); \
		} \
	} while (0)

#endif							/* EDGE_CRDT_PROP_H */
