#include "shapes.h"

double rectangle_area(double w, double h) { return w * h; }
