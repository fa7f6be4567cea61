#include "shapes.h"

double triangle_area(double base, double height) { return 0.5 * base * height; }
