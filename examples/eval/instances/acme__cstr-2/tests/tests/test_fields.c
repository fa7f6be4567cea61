#include "check.h"
#include "cstr.h"

int main(void) {
  CHECK("count_fields: commas", cstr_count_fields("a,b,c") == 3);
  CHECK("count_fields: an empty string is one field", cstr_count_fields("") == 1);
  CHECK("count_fields: one field", cstr_count_fields("abc") == 1);
  return 0;
}
