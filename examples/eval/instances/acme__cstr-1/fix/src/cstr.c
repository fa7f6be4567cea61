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
  fclose(f);
  if (last != '\n') ++lines;
  return lines;
}

int cstr_count_fields(const char* s) {
  int fields = 1;
  for (; *s != '\0'; ++s) {
    if (*s == ',') ++fields;
  }
  return fields;
}
