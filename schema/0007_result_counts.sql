-- pathtrace schema 7: result_blocks.delivered, how many of a block's entries are delivered (the
-- others are not judged). A text report or one packet's timeline reads the first results of a
-- run and counts the rest (a busy run has millions) without decoding them. NULL in blocks
-- written before schema 7: those are decoded to count.
ALTER TABLE result_blocks ADD COLUMN delivered INTEGER;
