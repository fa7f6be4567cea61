#include "shapes.h"

double circle_area(double r) { return 3.14159265358979 * r * r; }
