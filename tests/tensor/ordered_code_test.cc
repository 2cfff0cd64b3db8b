#include "testutil/testutil.h"
