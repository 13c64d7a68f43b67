/*
 * default_yaml: embeds config/default.yaml into the fhd binary so that fhd runs
 * without a -c file and --print-default-config shows exactly what is used. The
 * text lies between cfg_default_yaml_start and cfg_default_yaml_end; a NUL byte
 * follows the end symbol so the text can also be used as a C string. The path is
 * relative to the repository root, where the build runs.
 */
	.section .rodata
	.balign 16
	.global cfg_default_yaml_start
	.type cfg_default_yaml_start, @object
cfg_default_yaml_start:
	.incbin "config/default.yaml"
	.global cfg_default_yaml_end
	.type cfg_default_yaml_end, @object
cfg_default_yaml_end:
	.byte 0
	.size cfg_default_yaml_start, cfg_default_yaml_end - cfg_default_yaml_start
	.size cfg_default_yaml_end, 1

	.section .note.GNU-stack,"",@progbits
