#include <math.h>
#include <stdio.h>

#include "shapes.h"

static int failures = 0;

static void expect_near(const char *what, double got, double want) {
  if (fabs(got - want) > 1e-9) {
    printf("FAIL %s: got %f, want %f\n", what, got, want);
    ++failures;
  } else {
    printf("ok   %s\n", what);
  }
}

int main(void) {
  struct shape square = {SQUARE, 3, 0};
  struct shape rect = {RECTANGLE, 2, 5};
  struct shape tri = {TRIANGLE, 4, 3};
  struct shape all[] = {square, rect, tri};
  expect_near("square", compute_area(&square), 9);
  expect_near("rectangle", compute_area(&rect), 10);
  expect_near("triangle", compute_area(&tri), 6);
  expect_near("total", total_area(all, 3), 25);
  return failures == 0 ? 0 : 1;
}
