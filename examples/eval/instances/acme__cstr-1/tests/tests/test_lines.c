#include <stdio.h>
#include <sys/resource.h>

#include "check.h"
#include "cstr.h"

static const char* write_file(const char* text) {
  static char path[] = "lines.txt";
  FILE* f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

int main(void) {
  CHECK("count_lines: three lines", cstr_count_lines(write_file("a\nb\nc\n")) == 3);
  CHECK("count_lines: a last line without a newline", cstr_count_lines(write_file("a\nb")) == 2);
  CHECK("count_lines: a missing file", cstr_count_lines("no-such-file") == -1);
  /* With 32 descriptors, 100 calls must all still read the file. */
  struct rlimit few = {32, 32};
  setrlimit(RLIMIT_NOFILE, &few);
  const char* path = write_file("x\ny\n");
  int all_read = 1;
  for (int i = 0; i < 100; ++i) all_read = all_read && cstr_count_lines(path) == 2;
  CHECK("count_lines: closes the file", all_read);
  return 0;
}
