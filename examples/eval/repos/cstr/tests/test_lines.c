#include <stdio.h>

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
  return 0;
}
