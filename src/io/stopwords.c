/* The built-in English stop-word list: function words (articles, pronouns,
 * prepositions, conjunctions, auxiliary and modal verbs, common adverbs) and
 * contractions, written as the tokenizer produces them (lower case,
 * apostrophes dropped: "don't" is "dont"). Content words that happen to be
 * frequent ("time", "people", "like", "well") are left in on purpose: which
 * of those are noise depends on the corpus, and max_df prunes them there.
 */
#include "latent/corpus.h"

#include <stddef.h>

static const char *const english[] = {
    /* articles and determiners */
    "a", "an", "the", "this", "that", "these", "those", "each", "every", "either", "neither", "some", "any", "no",
    "none", "all", "both", "few", "many", "much", "more", "most", "less", "least", "other", "others", "another", "such",
    "own", "same", "several", "enough", "only",
    /* personal, reflexive, relative and indefinite pronouns */
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
    "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they", "them",
    "their", "theirs", "themselves", "one", "ones", "oneself", "who", "whom", "whose", "which", "what", "whatever",
    "whoever", "whomever", "whichever", "something", "anything", "nothing", "everything", "someone", "anyone",
    "everyone", "somebody", "anybody", "nobody", "everybody",
    /* prepositions */
    "about", "above", "across", "after", "against", "along", "amid", "amidst", "among", "amongst", "around", "as", "at",
    "before", "behind", "below", "beneath", "beside", "besides", "between", "beyond", "by", "despite", "down", "during",
    "except", "for", "from", "in", "inside", "into", "near", "of", "off", "on", "onto", "out", "outside", "over",
    "past", "per", "since", "than", "through", "throughout", "till", "to", "toward", "towards", "under", "underneath",
    "unlike", "until", "unto", "up", "upon", "via", "with", "within", "without",
    /* conjunctions and connectives */
    "and", "but", "or", "nor", "so", "yet", "if", "because", "although", "though", "while", "whilst", "whereas",
    "unless", "whether", "whereby", "wherein", "whereupon", "thus", "hence", "therefore", "thereby", "therein",
    "thereof", "however", "moreover", "furthermore", "nevertheless", "nonetheless", "otherwise", "then", "also", "else",
    "namely", "etc",
    /* forms of be, have, do; modal verbs */
    "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did",
    "doing", "done", "will", "would", "shall", "should", "can", "cannot", "could", "may", "might", "must", "ought",
    /* adverbs of degree, time, place and manner */
    "not", "very", "just", "too", "again", "already", "always", "ever", "never", "often", "once", "here", "there",
    "where", "when", "why", "how", "now", "still", "even", "almost", "quite", "rather", "perhaps", "soon", "yes",
    "indeed", "further", "anyway", "somewhat", "instead", "meanwhile", "together", "thence", "whence", "wherever",
    "whenever", "somehow", "anywhere", "everywhere", "somewhere", "nowhere",
    /* contractions, apostrophes dropped */
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "hasnt", "havent", "hadnt", "wont", "wouldnt",
    "cant", "couldnt", "shouldnt", "mustnt", "shant", "neednt", "mightnt", "aint", "im", "ive", "youre", "youve",
    "youd", "youll", "hes", "shes", "weve", "theyre", "theyve", "theyd", "theyll", "thats", "theres", "whats", "whos",
    "lets", "heres", "wheres", NULL};

const char *const *lt_stopwords_english(void)
{
    return english;
}
