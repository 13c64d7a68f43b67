/*
 * fuzz_main: main() for running tests/fuzz_feed.c without libFuzzer (gcc builds):
 * replays the files given as arguments, for the seed corpus under ASan+UBSan.
 */
int fuzz_feed_standalone_main(int argc, char **argv);

int main(int argc, char **argv)
{
	return fuzz_feed_standalone_main(argc, argv);
}
