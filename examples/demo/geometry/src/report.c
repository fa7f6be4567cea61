#include <stdio.h>

#include "shapes.h"

void print_report(const struct shape *shapes, int n) {
  for (int i = 0; i < n; ++i) printf("shape %d: area %.2f\n", i, compute_area(&shapes[i]));
  printf("total: %.2f\n", total_area(shapes, n));
}
