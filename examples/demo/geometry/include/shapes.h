#ifndef SHAPES_H
#define SHAPES_H

enum shape_kind { CIRCLE, SQUARE, RECTANGLE, TRIANGLE };

struct shape {
  enum shape_kind kind;
  double a, b;
};

double compute_area(const struct shape *s);
double circle_area(double r);
double square_area(double side);
double rectangle_area(double w, double h);
double triangle_area(double base, double height);
double total_area(const struct shape *shapes, int n);

#endif
