/*
 * fuzz_replay: main() for any libFuzzer target built without libFuzzer (gcc): runs
 * LLVMFuzzerTestOneInput over each file named on the command line, so that a seed
 * corpus or a crash input replays under gcc's ASan+UBSan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	static uint8_t buffer[1 << 20];

	for (int i = 1; i < argc; i++) {
		FILE *in = fopen(argv[i], "rb");
		size_t n;

		if (in == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buffer, 1, sizeof(buffer), in);
		fclose(in);
		LLVMFuzzerTestOneInput(buffer, n);
	}
	printf("%s: %d inputs replayed\n", argv[0], argc - 1);
	return 0;
}
