// Compiled with nothing but core/include on the include path (core/CMakeLists.txt), so the build
// fails when a public header needs an internal core/ header or pulls in Highway or fmt.
#include <hsr/error.h>
#include <hsr/hsr.h>

#if defined(FMT_VERSION) || defined(HWY_API) || defined(HWY_NAMESPACE)
#error "public headers (core/include/hsr) must not include fmt or Highway"
#endif
