/*
 * protodiff.h - protocol_parse() against protocol_parse_reference().
 *
 * The server parses plain frames with its own scanner and everything else
 * with jansson; the two must give the same answer for every frame.  Shared
 * by the unit tests (fixed frames and their mutations) and the protocol
 * fuzzer (whatever libFuzzer makes up).
 */
#ifndef TESTS_PROTODIFF_H
#define TESTS_PROTODIFF_H

#include <stdbool.h>
#include <stddef.h>

/* Same result, same error, same fields?  On a difference, 'why' (may be
 * NULL) says which part differs. */
bool protodiff_same(const char *frame, size_t len, const char **why);

#endif /* TESTS_PROTODIFF_H */
