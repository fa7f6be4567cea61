#include "cstr.h"

#include <stdio.h>

int cstr_count_lines(const char* path) {
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  int lines = 0, c, last = '\n';
  while ((c = fgetc(f)) != EOF) {
    if (c == '\n') ++lines;
    last = c;
  }
  if (last != '\n') ++lines;
  return lines;
}

int cstr_count_fields_sep(const char* s, char sep) {
  int fields = 1;
  for (; *s != '\0'; ++s) {
    if (*s == sep) ++fields;
  }
  return fields;
}

int cstr_count_fields(const char* s) { return cstr_count_fields_sep(s, ','); }
