/*-------------------------------------------------------------------------
 * pncounter_text_fuzz.c
 *	  libFuzzer target: pncounter text input (harness in
 *	  gcounter_text_fuzz.c).
 *
 * IDENTIFICATION
 *	  test/fuzz/pncounter_text_fuzz.c
 *-------------------------------------------------------------------------
 */
#include "edge_crdt/pncounter.h"

#define FUZZ_TYPE	PNCounter
#define FUZZ_FN(f)	pncounter_##f

#include "gcounter_text_fuzz.c"
