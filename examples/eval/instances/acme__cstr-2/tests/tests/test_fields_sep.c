#include "check.h"
#include "cstr.h"

int main(void) {
  CHECK("count_fields_sep: semicolons", cstr_count_fields_sep("a;b;c", ';') == 3);
  CHECK("count_fields_sep: commas are not separators then", cstr_count_fields_sep("a,b;c", ';') == 2);
  return 0;
}
