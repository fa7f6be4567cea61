#include "shapes.h"

double total_area(const struct shape *shapes, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += compute_area(&shapes[i]);
  return sum;
}
