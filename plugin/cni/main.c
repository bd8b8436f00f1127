/* sklookup: the chained CNI plugin. */
#include "cni.h"

int main(int argc, char **argv)
{
	return skl_cni_main(argc, argv);
}
