/*-------------------------------------------------------------------------
 * pncounter_recv_fuzz.c
 *	  libFuzzer target: pncounter binary receive (harness in
 *	  gcounter_recv_fuzz.c).
 *
 * IDENTIFICATION
 *	  test/fuzz/pncounter_recv_fuzz.c
 *-------------------------------------------------------------------------
 */
#include "edge_crdt/pncounter.h"

#define FUZZ_TYPE	PNCounter
#define FUZZ_FN(f)	pncounter_##f

#include "gcounter_recv_fuzz.c"
