/* TAP from a test file: one "ok - NAME" or "not ok - NAME" line per check. */
#include <stdio.h>

#define CHECK(name, cond) printf("%s - %s\n", (cond) ? "ok" : "not ok", (name))
