#ifndef CSTR_H
#define CSTR_H

/* The number of lines in the file at `path` (a last line without a newline counts), or -1 when it
   cannot be read. */
int cstr_count_lines(const char* path);

/* The number of comma-separated fields in `s`: "a,b" has two, "" has one. */
int cstr_count_fields(const char* s);

#endif
