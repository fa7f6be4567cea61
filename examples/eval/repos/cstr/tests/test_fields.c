#include "check.h"
#include "cstr.h"

int main(void) {
  CHECK("count_fields: commas", cstr_count_fields("a,b,c") == 3);
  CHECK("count_fields: an empty string is one field", cstr_count_fields("") == 1);
  return 0;
}
