/*
 * fuzz_config_main: main() for running tests/fuzz_config.c without libFuzzer (gcc
 * builds): replays the files given as arguments, for the seed corpus under ASan+UBSan.
 */
int fuzz_config_standalone_main(int argc, char **argv);

int main(int argc, char **argv)
{
	return fuzz_config_standalone_main(argc, argv);
}
